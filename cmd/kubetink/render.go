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

package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/config/crd"
	"github.com/kubetink/kubetink/internal/crdschema"
	"github.com/kubetink/kubetink/internal/policy"
	"github.com/kubetink/kubetink/internal/render"
	"github.com/kubetink/kubetink/internal/values"
)

// renderOptions are the flags of "kubetink render".
type renderOptions struct {
	file           string
	nodeCIDRs      []string
	loadBalancerIP string
	engine         string
	policy         policy.Settings
}

func newRenderCommand() *cobra.Command {
	o := &renderOptions{}
	cmd := &cobra.Command{
		Use:   "render -f FILE",
		Short: "Print the Flux or Argo CD objects Kubetink generates for Tinkerbell objects",
		Long: `Render reads Tinkerbell objects and prints, as multi-document YAML, the objects the operator would apply
for them. Several objects in one file are the sites of one cluster: render refuses them as the operator would
(overlapping namespaces, a shared public IP, CRDs of two epochs), and renders the CRDs once, for the site with
the newest release. With the Flux engine: the chart's OCIRepository, the CRDs' GitRepository and Kustomization(s), and the
HelmRelease with its generated values. With the Argo CD engine: the CRDs' Application(s) and the chart's
Application with the same values. The engine is the object's spec.engine unless --engine is given. It needs no
cluster: pass the facts the operator would read from it with flags.

Each Tinkerbell is first checked as the API checks it on create, with the CRD built into this binary: what the
API would refuse is refused with one line per error, naming the field and the rule in the apiserver's words, and
the schema's defaults are filled in before rendering. Give it the manager's policy flags
(--allowed-chart-url-prefixes and the others) and it then refuses what the operator would, with the same message.`,
		Example: `  kubetink render -f examples/minimal.yaml
  kubetink render -f examples/minimal.yaml --engine argocd
  kubetink render -f examples/multi-site.yaml
  kubetink render -f tinkerbell.yaml --node-cidr 10.244.0.0/24 --node-cidr 10.244.1.0/24
  kubetink render -f tinkerbell.yaml --load-balancer-ip 192.168.2.50   # for spec.publicIPFrom
  kubetink render -f tinkerbell.yaml --default-service-account flux-tenant  # as the manager's flag
  kubetink render -f tinkerbell.yaml --allowed-chart-url-prefixes oci://registry.example.com/charts
  cat tinkerbell.yaml | kubetink render -f -`,
		Args:        cobra.NoArgs,
		Annotations: map[string]string{shortLived: "true"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRender(cmd.InOrStdin(), cmd.OutOrStdout(), o)
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&o.file, "file", "f", "", `Tinkerbell manifest(s) to render; "-" reads standard input.`)
	fs.StringSliceVar(&o.nodeCIDRs, "node-cidr", nil, "Pod CIDR of a Node, used for the trusted proxies when spec.trustedProxies is empty; repeatable or comma-separated.")
	fs.StringVar(&o.loadBalancerIP, "load-balancer-ip", "", "LoadBalancer IP of the Service named by spec.publicIPFrom.")
	fs.StringVar(&o.engine, "engine", "", "GitOps engine to render for, flux or argocd, instead of the object's spec.engine.")
	o.policy.BindFlags(fs)
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

func runRender(stdin io.Reader, stdout io.Writer, o *renderOptions) error {
	for _, c := range o.nodeCIDRs {
		if _, err := netip.ParsePrefix(c); err != nil {
			return fmt.Errorf("--node-cidr %q is not a CIDR such as 10.244.0.0/24", c)
		}
	}
	if o.loadBalancerIP != "" {
		if a, err := netip.ParseAddr(o.loadBalancerIP); err != nil || !a.Is4() {
			return fmt.Errorf("--load-balancer-ip %q is not an IPv4 address", o.loadBalancerIP)
		}
	}
	engine, err := parseEngine(o.engine)
	if err != nil {
		return err
	}
	if err := validatePolicy(o.policy); err != nil {
		return err
	}
	var data []byte
	if o.file == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(o.file)
	}
	if err != nil {
		return fmt.Errorf("failed to read %s: %w", o.file, err)
	}
	objs, err := admitAll(data, engine)
	if err != nil {
		return fmt.Errorf("%s: %w", o.file, err)
	}
	// The cluster admin's policy, as the manager with the same flags checks it, with the same message.
	for _, obj := range objs {
		if v := o.policy.Check(obj); v != nil {
			return fmt.Errorf("%s: %s/%s: %s: %s", o.file, obj.Namespace, obj.Name, v.Reason, v.Message)
		}
	}
	// The manager's defaults, applied to the objects as stored, as the manager applies them.
	for i, obj := range objs {
		objs[i] = o.policy.Defaulted(obj)
	}
	// The objects of one file are the sites of one cluster: refused together as the operator would refuse them,
	// and the CRDs rendered once, by the site that provides them.
	results, err := render.Sites(objs, values.Facts{NodePodCIDRs: o.nodeCIDRs, LoadBalancerIP: o.loadBalancerIP,
		ArgoCDNamespace: o.policy.ArgoCDNamespace})
	if err != nil {
		return fmt.Errorf("%s: %w", o.file, err)
	}
	var out []byte
	for _, res := range results {
		y, err := render.ToYAML(res.Objects)
		if err != nil {
			return err
		}
		out = append(out, y...)
	}
	_, err = stdout.Write(out)
	return err
}

// tinkerbellSchema applies the generated Tinkerbell CRD (config/crd) as the apiserver does. Compiling its CEL rules
// takes a few milliseconds, so it is built on first use, by render only.
var tinkerbellSchema = sync.OnceValues(func() (*crdschema.Validator, error) {
	return crdschema.New(crd.Tinkerbell, kubetinkv1alpha1.GroupVersion.Version)
})

// admitAll reads the Tinkerbells in data and does to each what the apiserver does on "kubectl create": the
// namespace defaults to "default" as kubectl places it, engine (when not empty) replaces spec.engine, and then the
// CRD's schema prunes, defaults and validates it (internal/crdschema). It returns the objects as the apiserver
// would store them, or an error with one line per refusal, each naming the object, the field and the rule in the
// apiserver's words.
func admitAll(data []byte, engine kubetinkv1alpha1.Engine) ([]*kubetinkv1alpha1.Tinkerbell, error) {
	// Refuse what is not a Tinkerbell, and unknown or duplicate fields, first and with the decoder's message.
	if _, err := render.DecodeAll(data); err != nil {
		return nil, err
	}
	docs, err := render.Documents(data)
	if err != nil {
		return nil, err
	}
	v, err := tinkerbellSchema()
	if err != nil {
		return nil, err
	}
	objs := make([]*kubetinkv1alpha1.Tinkerbell, 0, len(docs))
	var refusals []string
	for i, doc := range docs {
		u, err := toUnstructured(doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		if u.GetNamespace() == "" {
			u.SetNamespace("default")
		}
		if engine != "" {
			if err := unstructured.SetNestedField(u.Object, string(engine), "spec", "engine"); err != nil {
				return nil, fmt.Errorf("document %d: %w", i+1, err)
			}
		}
		if errs := v.Create(context.Background(), u); len(errs) > 0 {
			who := fmt.Sprintf("Tinkerbell %s/%s", u.GetNamespace(), u.GetName())
			if u.GetName() == "" {
				who = fmt.Sprintf("document %d", i+1)
			}
			// As the apiserver words its refusal: each distinct error once.
			for _, e := range errs.ToAggregate().Errors() {
				refusals = append(refusals, fmt.Sprintf("%s: %s", who, e.Error()))
			}
			continue
		}
		j, err := u.MarshalJSON()
		if err != nil {
			return nil, err
		}
		obj, err := render.Decode(j)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		objs = append(objs, obj)
	}
	if len(refusals) > 0 {
		return nil, fmt.Errorf("the API would refuse:\n%s", strings.Join(refusals, "\n"))
	}
	return objs, nil
}

// toUnstructured reads one YAML document as the apiserver reads a JSON request body: integers become int64,
// other numbers float64.
func toUnstructured(doc []byte) (*unstructured.Unstructured, error) {
	j, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, err
	}
	obj, err := runtime.Decode(unstructured.UnstructuredJSONScheme, j)
	if err != nil {
		return nil, err
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return nil, fmt.Errorf("expected one object, found %T", obj)
	}
	return u, nil
}

// parseEngine reads --engine: flux or argocd, in any case; "" keeps the object's spec.engine.
func parseEngine(s string) (kubetinkv1alpha1.Engine, error) {
	switch strings.ToLower(s) {
	case "":
		return "", nil
	case "flux":
		return kubetinkv1alpha1.EngineFlux, nil
	case "argocd":
		return kubetinkv1alpha1.EngineArgoCD, nil
	}
	return "", fmt.Errorf("--engine %q is not an engine: use flux or argocd", s)
}
