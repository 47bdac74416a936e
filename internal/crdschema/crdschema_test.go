/*
Copyright 2026 The Kubetink Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package crdschema

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/config/crd"
	"github.com/kubetink/kubetink/internal/testutil"
)

var testEnv *testutil.Environment

func TestMain(m *testing.M) {
	testutil.RunWithControlPlane(m, testutil.Options{}, &testEnv)
}

// submission is one object given to both the apiserver and the Validator.
type submission struct {
	name string
	obj  *unstructured.Unstructured
	// valid says the object must be accepted; otherwise it must be refused unless generated, whose outcome only
	// has to agree.
	valid, generated bool
}

func tinkerbell(ns, name string, spec map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	u.SetAPIVersion(kubetinkv1alpha1.GroupVersion.String())
	u.SetKind(kubetinkv1alpha1.TinkerbellKind)
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}

// TestCreate_AgreesWithTheAPIServer submits every object to the real apiserver (a server-side dry-run create) and
// to the Validator: both accept it, the Validator's object then equal to what the apiserver would store, or both
// refuse it with the same errors (field paths and messages). The objects: every example, the invalid objects of
// the API's own test (testutil.InvalidTinkerbells) and one mutation for each constraint of the schema (enum,
// minimum, maximum, minLength, maxLength, pattern, minItems, maxItems, type). Every CEL rule that applies on
// create is among the refusals.
func TestCreate_AgreesWithTheAPIServer(t *testing.T) {
	g := NewWithT(t)
	v, err := New(crd.Tinkerbell, kubetinkv1alpha1.GroupVersion.Version)
	g.Expect(err).NotTo(HaveOccurred())
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "crdschema-"}}
	g.Expect(testEnv.Client.Create(context.Background(), ns)).To(Succeed())
	t.Cleanup(func() { _ = testEnv.Client.Delete(context.Background(), ns) })

	var subs []submission
	// The examples, and the smallest valid spec.
	files, err := filepath.Glob(filepath.Join(testutil.RepoRoot(), "examples", "*.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(files).NotTo(BeEmpty())
	for _, f := range files {
		for _, u := range testutil.ReadObjects(t, f) {
			u.SetNamespace(ns.Name)
			subs = append(subs, submission{name: filepath.Base(f) + "/" + u.GetName(), obj: u, valid: true})
		}
	}
	subs = append(subs, submission{name: "valid spec", obj: tinkerbell(ns.Name, "valid", testutil.ValidTinkerbellSpec()), valid: true})
	// The API's table of invalid objects.
	for i, c := range testutil.InvalidTinkerbells() {
		spec := testutil.ValidTinkerbellSpec()
		for _, m := range c.Mutate {
			m(spec)
		}
		name := c.Name
		if name == "" {
			name = fmt.Sprintf("invalid-%d", i)
		}
		subs = append(subs, submission{name: c.Case, obj: tinkerbell(ns.Name, name, spec)})
	}
	// Metadata the apiserver checks besides the name.
	badLabels := tinkerbell(ns.Name, "labels", testutil.ValidTinkerbellSpec())
	badLabels.SetLabels(map[string]string{"not a label!": "x"})
	noName := tinkerbell(ns.Name, "", testutil.ValidTinkerbellSpec())
	subs = append(subs, submission{name: "invalid label", obj: badLabels}, submission{name: "no name", obj: noName})
	// One mutation per constraint of the spec's schema.
	spec := v.structural.Properties["spec"]
	generated := 0
	for _, m := range mutations(&spec, []string{}) {
		s := testutil.ValidTinkerbellSpec()
		s = apply(s, m.path, m.value).(map[string]any)
		subs = append(subs, submission{name: "spec." + strings.Join(m.path, ".") + " " + m.what, obj: tinkerbell(ns.Name, fmt.Sprintf("generated-%d", generated), s), generated: true})
		generated++
	}

	var refusals []string
	refusedGenerated := 0
	for _, sub := range subs {
		server := sub.obj.DeepCopy()
		serverErr := testEnv.Client.Create(context.Background(), server, client.DryRunAll)
		local := sub.obj.DeepCopy()
		localErrs := v.Create(context.Background(), local)

		if serverErr == nil {
			g.Expect(sub.valid || sub.generated).To(BeTrue(), "%s: the apiserver accepted an invalid object", sub.name)
			g.Expect(localErrs).To(BeEmpty(), "%s: the apiserver accepts the object, render refuses it", sub.name)
			// What render goes on with is what the apiserver would store.
			g.Expect(equality.Semantic.DeepEqual(local.Object["spec"], server.Object["spec"])).To(BeTrue(),
				"%s: defaulted spec differs:\nrender:    %v\napiserver: %v", sub.name, local.Object["spec"], server.Object["spec"])
			g.Expect(local.GetName()).To(Equal(server.GetName()))
			continue
		}
		g.Expect(sub.valid).To(BeFalse(), "%s: the apiserver refused a valid object: %v", sub.name, serverErr)
		g.Expect(apierrors.IsInvalid(serverErr)).To(BeTrue(), "%s: want an Invalid error, got %v", sub.name, serverErr)
		var want []string
		for _, c := range serverErr.(apierrors.APIStatus).Status().Details.Causes {
			want = append(want, c.Field+": "+c.Message)
		}
		var got []string
		for _, e := range localErrs {
			got = append(got, e.Field+": "+e.ErrorBody())
		}
		sort.Strings(want)
		sort.Strings(got)
		g.Expect(got).To(Equal(want), "%s: render's errors differ from the apiserver's", sub.name)
		refusals = append(refusals, want...)
		if sub.generated {
			refusedGenerated++
		}
	}
	t.Logf("%d objects: %d generated mutations, %d of them refused", len(subs), generated, refusedGenerated)
	g.Expect(refusedGenerated).To(BeNumerically(">=", 100), "the generated mutations should mostly be refused")

	// Every CEL rule that applies on create refused some object.
	for _, rule := range celRules(v.structural) {
		g.Expect(slices.ContainsFunc(refusals, func(r string) bool { return strings.Contains(r, rule) })).
			To(BeTrue(), "no object was refused by the rule %q", rule)
	}
}

// mutation sets the field at path (a key, or "[]" for a list holding the rest) to value.
type mutation struct {
	path  []string
	value any
	what  string
}

// mutations returns one value breaking each constraint of s and of the schemas below it.
func mutations(s *structuralschema.Structural, path []string) []mutation {
	at := func(value any, what string) mutation { return mutation{slices.Clone(path), value, what} }
	var out []mutation
	if len(path) > 0 {
		// A value of the wrong type.
		switch s.Type {
		case "string":
			out = append(out, at(int64(1), "wrong type"))
		case "integer", "boolean", "object", "array":
			out = append(out, at("x", "wrong type"))
		}
	}
	if vv := s.ValueValidation; vv != nil {
		if len(vv.Enum) > 0 {
			out = append(out, at("NotInTheEnum", "enum"))
		}
		if vv.Minimum != nil {
			out = append(out, at(int64(*vv.Minimum)-1, "minimum"))
		}
		if vv.Maximum != nil {
			out = append(out, at(int64(*vv.Maximum)+1, "maximum"))
		}
		if vv.MaxLength != nil {
			out = append(out, at(strings.Repeat("a", int(*vv.MaxLength)+1), "maxLength"))
		}
		if vv.MinLength != nil && *vv.MinLength > 0 {
			out = append(out, at(strings.Repeat("a", int(*vv.MinLength)-1), "minLength"))
		}
		if vv.Pattern != "" {
			re := regexp.MustCompile(vv.Pattern)
			for _, c := range []string{"", "-", "Not_Valid!", "a b", "/x", "x/"} {
				if !re.MatchString(c) {
					out = append(out, at(c, "pattern"))
					break
				}
			}
		}
		if vv.MaxItems != nil {
			out = append(out, at(items(s.Items, int(*vv.MaxItems)+1), "maxItems"))
		}
		if vv.MinItems != nil && *vv.MinItems > 0 {
			out = append(out, at(items(s.Items, int(*vv.MinItems)-1), "minItems"))
		}
	}
	keys := make([]string, 0, len(s.Properties))
	for k := range s.Properties {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if len(path) == 0 && k == "values" {
			continue // free-form Helm values
		}
		p := s.Properties[k]
		out = append(out, mutations(&p, append(slices.Clone(path), k))...)
	}
	if s.Items != nil {
		out = append(out, mutations(s.Items, append(slices.Clone(path), "[]"))...)
	}
	return out
}

// items returns n distinct items of schema s.
func items(s *structuralschema.Structural, n int) []any {
	out := make([]any, n)
	for i := range out {
		switch {
		case s == nil || s.Type == "string":
			out[i] = fmt.Sprintf("item%d", i)
		case s.Type == "integer":
			out[i] = int64(i)
		default:
			out[i] = map[string]any{}
		}
	}
	return out
}

// apply sets path in x to value; x may be nil.
func apply(x any, path []string, value any) any {
	if len(path) == 0 {
		return value
	}
	if path[0] == "[]" {
		return []any{apply(nil, path[1:], value)}
	}
	m, ok := x.(map[string]any)
	if !ok {
		m = map[string]any{}
	}
	m[path[0]] = apply(m[path[0]], path[1:], value)
	return m
}

// celRules returns the messages of the CEL rules of s that apply on create (not the transition rules, which
// compare with oldSelf).
func celRules(s *structuralschema.Structural) []string {
	var out []string
	for _, r := range s.XValidations {
		if strings.Contains(r.Rule, "oldSelf") {
			continue
		}
		msg := r.Message
		if msg == "" {
			msg = "failed rule: " + r.Rule
		}
		out = append(out, msg)
	}
	for _, p := range s.Properties {
		out = append(out, celRules(&p)...)
	}
	if s.Items != nil {
		out = append(out, celRules(s.Items)...)
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Structural != nil {
		out = append(out, celRules(s.AdditionalProperties.Structural)...)
	}
	return out
}
