//go:build e2e

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

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/render"
	"github.com/kubetink/kubetink/test/e2e/localenv"
)

// lockdownDir is the install variant this test proves.
var lockdownDir = filepath.Join(repoRoot, "examples", "install", "flux-lockdown")

// The names examples/install/flux-lockdown/tenant.yaml and examples/tenant.yaml give the tenant.
const (
	tenantNamespace = "team-a"
	tenantTarget    = "team-a-tinkerbell"
	tenantAccount   = "flux-tenant"
	// otherTarget is another team's target namespace, out of flux-tenant's reach.
	otherTarget = "team-b-tinkerbell"
)

// TestFluxLockdown runs the real Flux controllers with the multi-tenancy lockdown flags of
// examples/install/flux-lockdown/flux-system.yaml and Kubetink with the manager flags of its kubetink.yaml, and
// applies its tenant.yaml as it is. Then a team's Tinkerbell (examples/tenant.yaml without its
// spec.serviceAccountName, so the manager's default applies) installs the real chart through impersonation; a
// second one aiming at another team's namespace is refused by helm-controller's impersonation and says so on
// the Tinkerbell while the first stays Ready; no CRD or user object is deleted.
func TestFluxLockdown(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx := context.Background()
	fluxArgs := lockdownFluxArgs(t)
	managerArgs := lockdownManagerArgs(t)
	g.Expect(fluxArgs["helm-controller"]).To(ContainElements("--default-service-account="+tenantAccount, "--no-cross-namespace-refs=true"))
	g.Expect(fluxArgs["kustomize-controller"]).To(ContainElements("--default-service-account="+tenantAccount, "--no-cross-namespace-refs=true"))
	g.Expect(managerArgs).To(ContainElement("--default-service-account=" + tenantAccount))
	env := startEnvWith(t, func(o *localenv.Options) {
		o.FluxArgs, o.ManagerArgs = fluxArgs, managerArgs
		o.Charts = []localenv.Chart{{Name: "tinkerbell", Version: "v0.25.0"}}
	})
	started := time.Now()
	mirrors, err := env.CreateCRDMirrors(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	// The example's admin policy allows upstream's registry and repository; the local registry and Git server
	// stand in for them here, so they are allowed beside them (a repeated list flag adds to the list).
	chartURL := env.ChartURLs["tinkerbell"]
	g.Expect(env.StopManager()).To(Succeed())
	g.Expect(env.StartManager(ctx,
		"--allowed-chart-url-prefixes="+chartURL[:strings.LastIndex(chartURL, "/")],
		"--allowed-crd-source-prefixes="+mirrors[localenv.TinkerbellMirror].URL)).To(Succeed())
	g.Expect(env.CreateNode(ctx, "node-a", loopbackPodCIDR)).To(Succeed())
	kubectl(t, env, "apply", "--server-side", "-f", filepath.Join(lockdownDir, "tenant.yaml"))
	g.Expect(env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: otherTarget}})).To(Succeed())

	// a. The team's site becomes Ready through impersonation.
	site := tenantTinkerbell(t, env, mirrors[localenv.TinkerbellMirror].URL)
	g.Expect(site.Spec.ServiceAccountName).To(BeEmpty(), "the manager's --default-service-account is what this site uses")
	g.Expect(env.Client.Create(ctx, site)).To(Succeed())
	eventually(t, "the team's Tinkerbell is Ready, installed as "+tenantAccount, func(g Gomega) {
		expectReady(g, env, site, func() []metav1.Condition { return site.Status.Conditions })
	})
	t.Logf("FIGURE Tinkerbell created -> Ready through impersonation (real chart and binary): %s", time.Since(started).Round(100*time.Millisecond))
	hr := &helmv2.HelmRelease{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: tenantNamespace, Name: site.Name}, hr)).To(Succeed())
	g.Expect(hr.Spec.ServiceAccountName).To(Equal(tenantAccount))
	ks := &kustomizev1.KustomizationList{}
	g.Expect(env.Client.List(ctx, ks, client.InNamespace(tenantNamespace), client.MatchingLabels{render.LabelName: site.Name})).To(Succeed())
	g.Expect(ks.Items).NotTo(BeEmpty(), "the team's site applies the CRDs")
	for _, k := range ks.Items {
		g.Expect(k.Spec.ServiceAccountName).To(Equal(tenantAccount), "Kustomization %s", k.Name)
	}
	eventually(t, "the team's stack runs the real Tinkerbell", func(g Gomega) { runningTinkerbellPod(g, env, tenantTarget, "v0.25.0") })

	// a2. Values that give the site's binary more than the chart's own rules (rbac.additionalRoleRules): the
	// apiserver refuses flux-tenant, which holds those rules but may not escalate, and the Tinkerbell reports it;
	// taking them out recovers.
	role := &rbacv1.ClusterRole{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Name: "tinkerbell-" + tenantTarget + "-role"}, role)).To(Succeed())
	rules := role.Rules
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(site), site)).To(Succeed())
	site.Spec.Values = &apiextensionsv1.JSON{Raw: []byte(`{"rbac":{"additionalRoleRules":[{"apiGroups":[""],"resources":["nodes"],"verbs":["delete"]}]}}`)}
	g.Expect(env.Client.Update(ctx, site)).To(Succeed())
	eventually(t, "values that escalate are refused by the apiserver and reported", func(g Gomega) {
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(site), site)).To(Succeed())
		c := apimeta.FindStatusCondition(site.Status.Conditions, meta.ReadyCondition)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Message).To(And(ContainSubstring("forbidden"), ContainSubstring(role.Name)), "Ready: %s: %s", c.Reason, c.Message)
	})
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(role), role)).To(Succeed())
	g.Expect(role.Rules).To(Equal(rules), "the chart's ClusterRole keeps its own rules")
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(site), site)).To(Succeed())
	site.Spec.Values = nil
	g.Expect(env.Client.Update(ctx, site)).To(Succeed())
	eventually(t, "without them the team's Tinkerbell is Ready again", func(g Gomega) {
		expectReady(g, env, site, func() []metav1.Condition { return site.Status.Conditions })
	})
	crds := tinkerbellCRDs(g, env)
	machine := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: tenantTarget, Name: "team-a-notes"}, Data: map[string]string{"a": "b"}}
	g.Expect(env.Client.Create(ctx, machine)).To(Succeed())
	hw := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{}}}
	hw.SetGroupVersionKind(hardwareGVK)
	hw.SetNamespace(tenantTarget)
	hw.SetName("team-a-machine")
	g.Expect(env.Client.Create(ctx, hw)).To(Succeed())

	// b. A site aiming at another team's namespace: helm-controller, acting as flux-tenant, is refused, and the
	// Tinkerbell says so with helm-controller's message.
	intruder := tenantTinkerbell(t, env, mirrors[localenv.TinkerbellMirror].URL)
	intruder.Name = "intruder"
	intruder.Spec.TargetNamespace = otherTarget
	intruder.Spec.PublicIP = "192.168.40.10"
	g.Expect(env.Client.Create(ctx, intruder)).To(Succeed())
	refused := time.Now()
	eventually(t, "the intruding Tinkerbell reports helm-controller's refusal", func(g Gomega) {
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(intruder), intruder)).To(Succeed())
		c := apimeta.FindStatusCondition(intruder.Status.Conditions, meta.ReadyCondition)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Message).To(And(ContainSubstring("forbidden"), ContainSubstring("system:serviceaccount:"+tenantNamespace+":"+tenantAccount),
			ContainSubstring(otherTarget)), "Ready: %s: %s", c.Reason, c.Message)
	})
	t.Logf("FIGURE Tinkerbell created -> refusal reported: %s", time.Since(refused).Round(100*time.Millisecond))
	secrets := &corev1.SecretList{}
	g.Expect(env.Client.List(ctx, secrets, client.InNamespace(otherTarget))).To(Succeed())
	g.Expect(secrets.Items).To(BeEmpty(), "no Helm release was stored in the other team's namespace")
	expectReady(g, env, site, func() []metav1.Condition { return site.Status.Conditions })

	// c. Nothing was deleted: the CRDs (same UIDs) and the team's objects.
	g.Expect(tinkerbellCRDs(g, env)).To(Equal(crds))
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(machine), &corev1.ConfigMap{})).To(Succeed())
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(hw), hw)).To(Succeed())
	g.Expect(hw.GetDeletionTimestamp()).To(BeNil())
	show(t, env)
}

// tinkerbellCRDs returns the UIDs of the Tinkerbell CRDs by name, and that none is being deleted.
func tinkerbellCRDs(g Gomega, env *localenv.Env) map[string]string {
	list := &apiextensionsv1.CustomResourceDefinitionList{}
	g.Expect(env.Client.List(context.Background(), list)).To(Succeed())
	out := map[string]string{}
	for _, crd := range list.Items {
		if strings.HasSuffix(crd.Name, "tinkerbell.org") {
			g.Expect(crd.DeletionTimestamp).To(BeNil(), "CRD %s is being deleted", crd.Name)
			out[crd.Name] = string(crd.UID)
		}
	}
	g.Expect(out).To(HaveKey("hardware.tinkerbell.org"))
	return out
}

// tenantTinkerbell is examples/tenant.yaml without spec.serviceAccountName, with the chart and CRDs from the local
// registry and mirror.
func tenantTinkerbell(t *testing.T, env *localenv.Env, crdMirror string) *kubetinkv1alpha1.Tinkerbell {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "examples", "tenant.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := render.DecodeAll(data)
	if err != nil || len(objs) != 1 {
		t.Fatalf("examples/tenant.yaml: want one Tinkerbell: %v", err)
	}
	tb := objs[0]
	if tb.Namespace != tenantNamespace || tb.Spec.TargetNamespace != tenantTarget || tb.Spec.ServiceAccountName != tenantAccount {
		t.Fatalf("examples/tenant.yaml no longer matches flux-lockdown/tenant.yaml: %s/%s -> %s as %s", tb.Namespace, tb.Name, tb.Spec.TargetNamespace, tb.Spec.ServiceAccountName)
	}
	tb.Spec.ServiceAccountName = ""
	tb.Spec.Chart = &kubetinkv1alpha1.ChartSource{URL: env.ChartURLs["tinkerbell"], Insecure: true}
	tb.Spec.CRDs = &kubetinkv1alpha1.CRDsSpec{Source: &kubetinkv1alpha1.CRDSource{URL: crdMirror}}
	return tb
}

// lockdownFluxArgs reads the flags flux-system.yaml's patches add to each Flux controller.
func lockdownFluxArgs(t *testing.T) map[string][]string {
	t.Helper()
	var k struct {
		Patches []struct {
			Target struct{ Kind, Name string }
			Patch  string
		}
	}
	readYAML(t, filepath.Join(lockdownDir, "flux-system.yaml"), &k)
	out := map[string][]string{}
	for _, p := range k.Patches {
		if p.Target.Kind != "Deployment" {
			continue
		}
		re := regexp.MustCompile("^(?:" + p.Target.Name + ")$")
		for _, c := range []string{"source-controller", "helm-controller", "kustomize-controller"} {
			if re.MatchString(c) {
				out[c] = append(out[c], patchArgs(t, p.Patch)...)
			}
		}
	}
	return out
}

// lockdownManagerArgs reads the flags kubetink.yaml's patch adds to the manager.
func lockdownManagerArgs(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(lockdownDir, "kubetink.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for doc := range strings.SplitSeq(string(data), "\n---\n") {
		var k struct {
			Kind string
			Spec struct {
				Patches []struct {
					Target struct{ Kind, Name string }
					Patch  string
				}
			}
		}
		if err := yaml.Unmarshal([]byte(doc), &k); err != nil {
			t.Fatal(err)
		}
		for _, p := range k.Spec.Patches {
			if k.Kind == "Kustomization" && p.Target.Kind == "Deployment" && p.Target.Name == "kubetink-manager" {
				out = append(out, patchArgs(t, p.Patch)...)
			}
		}
	}
	return out
}

// patchArgs returns the values a JSON patch adds to a container's args.
func patchArgs(t *testing.T, patch string) []string {
	t.Helper()
	var ops []struct{ Op, Path, Value string }
	if err := yaml.Unmarshal([]byte(patch), &ops); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, op := range ops {
		if op.Op == "add" && strings.HasSuffix(op.Path, "/args/-") {
			out = append(out, op.Value)
		}
	}
	return out
}

func readYAML(t *testing.T, path string, into any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
