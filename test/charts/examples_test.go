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

package charts

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/catalog"
	"github.com/kubetink/kubetink/internal/render"
	"github.com/kubetink/kubetink/internal/values"
)

// facts stand in for what the operator reads from the cluster: the Nodes' pod CIDRs (the trusted proxies when
// spec.trustedProxies is empty) and the LoadBalancer IP of spec.publicIPFrom.
var facts = values.Facts{NodePodCIDRs: []string{"10.244.0.0/24", "10.244.1.0/24"}, LoadBalancerIP: "192.168.2.50"}

// example is one manifest of examples/, or a scenario.
type example struct {
	name string
	obj  *kubetinkv1alpha1.Tinkerbell
	// facts replace the package's facts when set.
	facts *values.Facts
	// knownChartError, when set, is part of the error every release's chart gives for the example's values: a
	// finding recorded in the report, not yet fixed. The test fails once the chart accepts the values, so that
	// the entry goes when the fix comes.
	knownChartError string
	// knownMismatch, when set, is part of the description of a check (checker.equal) that fails on every
	// release for the same recorded finding; like knownChartError, the test fails once it passes.
	knownMismatch string
	// refused, when set, is part of the error with which Kubetink refuses the example on every release: values
	// the chart would reject at install time, refused before anything is applied.
	refused string
}

// loadExamples reads examples/*.yaml (not examples/install/, which installs Kubetink itself).
func loadExamples(t *testing.T) []example {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(repoRoot, "examples", "*.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no examples found in %s/examples: %v", repoRoot, err)
	}
	out := make([]example, 0, len(paths))
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := render.DecodeAll(data)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for _, obj := range objs {
			if obj.Namespace == "" {
				obj.Namespace = "default"
			}
			name := strings.TrimSuffix(filepath.Base(p), ".yaml")
			if len(objs) > 1 {
				name += "/" + obj.Name // a file of several sites, such as multi-site.yaml
			}
			out = append(out, example{name: name, obj: obj})
		}
	}
	return out
}

// renderFor renders obj for release version the way "kubetink render" does and returns the result and its
// HelmRelease.
func renderFor(t testing.TB, obj *kubetinkv1alpha1.Tinkerbell, version string, f values.Facts) (*kubetinkv1alpha1.Tinkerbell, *render.Result, *unstructured.Unstructured, error) {
	t.Helper()
	obj = obj.DeepCopy()
	obj.Spec.Version = version
	obj.Spec.Engine = kubetinkv1alpha1.EngineFlux
	res, err := render.Render(obj, f)
	if err != nil {
		return obj, nil, nil, err
	}
	for _, o := range res.Objects {
		if o.GetKind() == "HelmRelease" {
			return obj, res, o, nil
		}
	}
	t.Fatalf("render gave no HelmRelease for %s", version)
	return nil, nil, nil, nil
}

// TestExamplesAgainstUpstreamCharts templates every release's real chart with the values Kubetink generates for
// every example (legacy examples with the legacy chart, unified ones with every unified release) and checks
// that the chart accepts them and that the workloads carry what Kubetink meant.
func TestExamplesAgainstUpstreamCharts(t *testing.T) {
	for _, ex := range loadExamples(t) {
		testEveryRelease(t, ex)
	}
}

// testEveryRelease runs checkRelease for ex on every release of its chart (legacy or unified), one subtest each.
func testEveryRelease(t *testing.T, ex example) {
	t.Helper()
	exRel, err := catalog.Lookup(ex.obj.Spec.Version)
	if err != nil {
		t.Fatalf("%s: %v", ex.name, err)
	}
	for _, rel := range catalog.Releases() {
		if rel.Legacy != exRel.Legacy {
			continue
		}
		t.Run(ex.name+"/"+rel.Version, func(t *testing.T) {
			t.Parallel()
			checkRelease(t, ex, rel)
		})
	}
}

// checkRelease renders ex for rel, templates rel's chart with the HelmRelease's values and checks the objects.
func checkRelease(t *testing.T, ex example, rel catalog.Release) {
	t.Helper()
	f := facts
	if ex.facts != nil {
		f = *ex.facts
	}
	obj, res, hr, err := renderFor(t, ex.obj, rel.Version, f)
	if ex.refused != "" {
		if err == nil || !strings.Contains(err.Error(), ex.refused) {
			t.Fatalf("Kubetink should refuse this Tinkerbell on %s with %q, got: %v", rel.Version, ex.refused, err)
		}
		t.Logf("Kubetink refuses this Tinkerbell on %s: %v", rel.Version, err)
		return
	}
	if err != nil {
		// Kubetink may refuse a setting an older release has no key for, naming the release; never the release the
		// manifest was written for.
		if rel.Version == ex.obj.Spec.Version || !strings.Contains(err.Error(), rel.Version) {
			t.Fatalf("render refused %s without naming the release: %v", rel.Version, err)
		}
		t.Logf("Kubetink refuses this Tinkerbell on %s: %v", rel.Version, err)
		return
	}
	objs, err := helmTemplate(t, rel, hr)
	switch {
	case ex.knownChartError != "" && err != nil && strings.Contains(err.Error(), ex.knownChartError):
		t.Logf("known finding: the %s chart rejects the values Kubetink generates: %v", rel.Version, err)
		return
	case ex.knownChartError != "":
		t.Fatalf("the known finding %q no longer reproduces on %s (error: %v): remove it from the scenario", ex.knownChartError, rel.Version, err)
	case err != nil:
		t.Fatalf("the %s chart rejects the generated values: %v", rel.Version, err)
	}
	c := &checker{t: t, rel: rel, obj: obj, res: res, objs: objs, knownMismatch: ex.knownMismatch}
	if rel.Legacy {
		c.checkStack()
	} else {
		c.checkUnified()
	}
	c.checkImagesMirrored()
	if c.knownMismatch != "" && !c.knownHit {
		t.Errorf("the known finding %q no longer reproduces on %s: remove it from the scenario", c.knownMismatch, rel.Version)
	}
}

// checker checks the objects a chart rendered against the Tinkerbell they were rendered for.
type checker struct {
	t    *testing.T
	rel  catalog.Release
	obj  *kubetinkv1alpha1.Tinkerbell
	res  *render.Result
	objs []*unstructured.Unstructured
	// knownMismatch is example.knownMismatch; knownHit records that a check matching it failed.
	knownMismatch string
	knownHit      bool
}

// workload is a Deployment or DaemonSet as rendered.
type workload struct {
	kind, name string
	replicas   *int32
	labels     map[string]string
	pod        corev1.PodSpec
}

// workloads returns the rendered Deployments and DaemonSets.
func (c *checker) workloads() []workload {
	var out []workload
	for _, o := range c.objs {
		switch o.GetKind() {
		case "Deployment":
			var d appsv1.Deployment
			c.convert(o, &d)
			out = append(out, workload{kind: "Deployment", name: d.Name, replicas: d.Spec.Replicas, labels: d.Spec.Template.Labels, pod: d.Spec.Template.Spec})
		case "DaemonSet":
			var d appsv1.DaemonSet
			c.convert(o, &d)
			out = append(out, workload{kind: "DaemonSet", name: d.Name, labels: d.Spec.Template.Labels, pod: d.Spec.Template.Spec})
		}
	}
	return out
}

// workloadWith returns the workload with a container (or init container) named container, if any.
func (c *checker) workloadWith(container string) (workload, bool) {
	for _, w := range c.workloads() {
		if _, ok := findContainer(w.pod, container); ok {
			return w, true
		}
	}
	return workload{}, false
}

func (c *checker) convert(o *unstructured.Unstructured, into any) {
	c.t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, into); err != nil {
		c.t.Fatalf("%s %s: %v", o.GetKind(), o.GetName(), err)
	}
}

// services returns the rendered Services.
func (c *checker) services() []corev1.Service {
	var out []corev1.Service
	for _, o := range c.objs {
		if o.GetKind() == "Service" {
			var s corev1.Service
			c.convert(o, &s)
			out = append(out, s)
		}
	}
	return out
}

// image returns the reference Kubetink means for a catalog image: the catalog's, moved to spec.registry.mirror.
func (c *checker) image(name string) string {
	img, ok := c.rel.Image(name)
	if !ok {
		c.t.Fatalf("the catalog entry of %s has no %s image", c.rel.Version, name)
	}
	if r := c.obj.Spec.Registry; r != nil && r.Mirror != "" {
		return values.MirrorImage(r.Mirror, img.Ref())
	}
	return img.Ref()
}

// hookOS returns spec.addons.hookOS, or nil.
func (c *checker) hookOS() *kubetinkv1alpha1.HookOSAddon {
	if c.obj.Spec.Addons == nil {
		return nil
	}
	return c.obj.Spec.Addons.HookOS
}

// equal reports a difference between what a chart rendered and what Kubetink meant.
func (c *checker) equal(what string, got, want any) {
	c.t.Helper()
	if equalValues(got, want) {
		return
	}
	if c.knownMismatch != "" && strings.Contains(what, c.knownMismatch) {
		c.knownHit = true
		c.t.Logf("known finding on %s: %s is %v, Kubetink meant %v", c.rel.Version, what, got, want)
		return
	}
	c.t.Errorf("%s %s: %s is %v, Kubetink meant %v", c.rel.ChartURL, c.rel.Version, what, got, want)
}

// checkImagesMirrored checks, for a spec.registry.mirror, that every image of every rendered pod comes from the
// mirror: an image key the chart does not read would leave an image pulled from the Internet.
func (c *checker) checkImagesMirrored() {
	r := c.obj.Spec.Registry
	if r == nil || r.Mirror == "" {
		return
	}
	for _, w := range c.workloads() {
		for _, ref := range podImages(w.pod) {
			if !strings.HasPrefix(ref, strings.TrimSuffix(r.Mirror, "/")+"/") {
				c.t.Errorf("%s %s: %s %s pulls %s, not from the mirror %s", c.rel.ChartURL, c.rel.Version, w.kind, w.name, ref, r.Mirror)
			}
		}
	}
}

// podImages returns the images of a pod: containers, init containers and image volumes.
func podImages(p corev1.PodSpec) []string {
	var out []string
	for _, ct := range slices.Concat(p.InitContainers, p.Containers) {
		out = append(out, ct.Image)
	}
	for _, v := range p.Volumes {
		if v.Image != nil {
			out = append(out, v.Image.Reference)
		}
	}
	return out
}

// findContainer returns the container or init container with this name.
func findContainer(p corev1.PodSpec, name string) (corev1.Container, bool) {
	for _, ct := range slices.Concat(p.InitContainers, p.Containers) {
		if ct.Name == name {
			return ct, true
		}
	}
	return corev1.Container{}, false
}

// env returns a container's environment as Kubernetes resolves it: the last definition of a name wins.
func env(ct corev1.Container) map[string]string {
	out := map[string]string{}
	for _, e := range ct.Env {
		out[e.Name] = e.Value
	}
	return out
}

// deref returns *p, or -1 for nil (a replica count the template left out).
func deref(p *int32) int32 {
	if p == nil {
		return -1
	}
	return *p
}
