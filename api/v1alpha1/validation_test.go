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

package v1alpha1_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
)

// validSpec is the smallest spec the API accepts for the unified chart.
func validSpec() map[string]any {
	return map[string]any{
		"version":             "v0.25.0",
		"publicIP":            "192.168.2.10",
		"artifactsFileServer": "http://192.168.2.11:7173",
	}
}

func newTinkerbell(ns, name string, spec map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	u.SetAPIVersion(kubetinkv1alpha1.GroupVersion.String())
	u.SetKind(kubetinkv1alpha1.TinkerbellKind)
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}

func createNamespace(t *testing.T, g *WithT) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "api-"}}
	g.Expect(testEnv.Client.Create(context.Background(), ns)).To(Succeed())
	t.Cleanup(func() { _ = testEnv.Client.Delete(context.Background(), ns) })
	return ns.Name
}

func set(path string, value any) func(map[string]any) {
	return func(spec map[string]any) {
		keys := strings.Split(path, ".")
		m := spec
		for _, k := range keys[:len(keys)-1] {
			next, ok := m[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[k] = next
			}
			m = next
		}
		if value == nil {
			delete(m, keys[len(keys)-1])
			return
		}
		m[keys[len(keys)-1]] = value
	}
}

func repeat(n int, f func(i int) any) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func TestTinkerbell_CELValidation(t *testing.T) {
	disabled := map[string]any{"enabled": false}
	tests := []struct {
		name    string
		mutate  []func(map[string]any)
		wantMsg string
	}{
		{"version missing", []func(map[string]any){set("version", nil)}, `spec.version: Required value`},
		{"version not semver", []func(map[string]any){set("version", "latest")}, `spec.version in body should match`},
		{"version two parts", []func(map[string]any){set("version", "v0.25")}, `spec.version in body should match`},
		{"version too long", []func(map[string]any){set("version", "v0.25.0-"+strings.Repeat("a", 60))}, `spec.version: Too long`},
		{"targetNamespace not a DNS label", []func(map[string]any){set("targetNamespace", "Tinker_Bell")}, `spec.targetNamespace in body should match`},
		{"targetNamespace too long", []func(map[string]any){set("targetNamespace", strings.Repeat("a", 64))}, `spec.targetNamespace: Too long`},
		{"targetNamespace kube-system", []func(map[string]any){set("targetNamespace", "kube-system")}, `spec.targetNamespace may not be a kube- system namespace`},
		{"serviceAccountName not a DNS name", []func(map[string]any){set("serviceAccountName", "Tinker_Bell")}, `spec.serviceAccountName in body should match`},
		{"argoCD namespace kube-public", []func(map[string]any){set("engine", "ArgoCD"), set("argoCD.namespace", "kube-public")}, `spec.argoCD.namespace may not be a kube- system namespace`},
		{"engine unknown", []func(map[string]any){set("engine", "Helm")}, `spec.engine: Unsupported value: "Helm"`},
		{"interval not a duration", []func(map[string]any){set("interval", "10 minutes")}, `spec.interval in body should match`},
		{"publicIP out of range", []func(map[string]any){set("publicIP", "300.1.1.1")}, `spec.publicIP: Invalid value: "300.1.1.1": must be an IPv4 address`},
		{"publicIP IPv6", []func(map[string]any){set("publicIP", "fd00::1")}, `spec.publicIP: Invalid value: "fd00::1": must be an IPv4 address`},
		{"publicIP and publicIPFrom", []func(map[string]any){set("publicIPFrom.name", "lb")}, `spec.publicIP and spec.publicIPFrom are mutually exclusive`},
		{"publicIPFrom without name", []func(map[string]any){set("publicIP", nil), set("publicIPFrom.namespace", "default")}, `spec.publicIPFrom.name: Required value`},
		{"trustedProxies prefix too long", []func(map[string]any){set("trustedProxies", []any{"10.0.0.0/33"})}, `spec.trustedProxies[0]: Invalid value: "10.0.0.0/33": must be a CIDR`},
		{"trustedProxies not a CIDR", []func(map[string]any){set("trustedProxies", []any{"10.244.0.0/16", "pods"})}, `spec.trustedProxies[1]: Invalid value: "pods": must be a CIDR`},
		{"trustedProxies duplicate", []func(map[string]any){set("trustedProxies", []any{"10.244.0.0/16", "10.244.0.0/16"})}, `spec.trustedProxies[1]: Duplicate value`},
		{"trustedProxies too many", []func(map[string]any){set("trustedProxies", repeat(65, func(i int) any { return fmt.Sprintf("10.%d.0.0/16", i) }))}, `spec.trustedProxies: Too many`},
		{"artifactsFileServer not http", []func(map[string]any){set("artifactsFileServer", "ftp://192.168.2.11/hook")}, `spec.artifactsFileServer: Invalid value: "ftp://192.168.2.11/hook": must be an absolute http:// or https:// URL`},
		{"artifactsFileServer missing with HookOS", []func(map[string]any){set("artifactsFileServer", nil)}, `spec.artifactsFileServer is required unless spec.addons.hookOS.enabled is false`},
		{"every component disabled", []func(map[string]any){set("components", map[string]any{"smee": disabled, "tootles": disabled, "rufio": disabled, "tinkServer": disabled, "tinkController": disabled})}, `spec.components: at least one component must be enabled`},
		{"dhcp mode unknown", []func(map[string]any){set("components.smee.dhcp.mode", "relay")}, `spec.components.smee.dhcp.mode: Unsupported value: "relay"`},
		{"dhcp bindInterface with shell", []func(map[string]any){set("components.smee.dhcp.bindInterface", "eth0;reboot")}, `spec.components.smee.dhcp.bindInterface in body should match`},
		{"logLevel too high", []func(map[string]any){set("components.tootles.logLevel", int64(12))}, `spec.components.tootles.logLevel: Invalid value: 12: spec.components.tootles.logLevel in body should be less than or equal to 9`},
		{"maxConcurrentReconciles zero", []func(map[string]any){set("components.rufio.maxConcurrentReconciles", int64(0))}, `spec.components.rufio.maxConcurrentReconciles in body should be greater than or equal to 1`},
		{"replicas negative", []func(map[string]any){set("deployment.replicas", int64(-1))}, `spec.deployment.replicas in body should be greater than or equal to 0`},
		{"kubeVip interface too long", []func(map[string]any){set("addons.kubeVip.interface", "enp0s31f6-vlan100")}, `spec.addons.kubeVip.interface: Too long`},
		{"hookOS downloadURL file scheme", []func(map[string]any){set("addons.hookOS.downloadURL", "file:///srv/hook")}, `spec.addons.hookOS.downloadURL: Invalid value: "file:///srv/hook": must be an absolute http:// or https:// URL`},
		{"hookOS persistence both kinds", []func(map[string]any){set("addons.hookOS.persistence", map[string]any{"existingClaim": "hook", "localPersistentVolume": map[string]any{"path": "/srv/hook"}})}, `existingClaim and localPersistentVolume are mutually exclusive`},
		{"hookOS local path relative", []func(map[string]any){set("addons.hookOS.persistence.localPersistentVolume.path", "srv/hook")}, `spec.addons.hookOS.persistence.localPersistentVolume.path in body should match '^/'`},
		{"chart url https", []func(map[string]any){set("chart.url", "https://ghcr.io/tinkerbell/charts/tinkerbell")}, `spec.chart.url must be an oci:// URL`},
		{"chart secretRef without name", []func(map[string]any){set("chart.secretRef", map[string]any{})}, `spec.chart.secretRef.name: Required value`},
		{"registry mirror with scheme", []func(map[string]any){set("registry.mirror", "https://registry.example.com")}, `spec.registry.mirror in body should match`},
		{"crds source scp-style url", []func(map[string]any){set("crds.source.url", "git@github.com:tinkerbell/tinkerbell.git")}, `spec.crds.source.url must be an http://, https:// or ssh:// URL`},
		{"valuesFrom kind Pod", []func(map[string]any){set("valuesFrom", []any{map[string]any{"kind": "Pod", "name": "values"}})}, `spec.valuesFrom[0].kind: Unsupported value: "Pod"`},
		{"valuesFrom without name", []func(map[string]any){set("valuesFrom", []any{map[string]any{"kind": "Secret"}})}, `spec.valuesFrom[0].name: Required value`},
		{"valuesFrom too many", []func(map[string]any){set("valuesFrom", repeat(17, func(i int) any { return map[string]any{"kind": "ConfigMap", "name": fmt.Sprintf("v%d", i)} }))}, `spec.valuesFrom: Too many`},
		{"deletionPolicy unknown", []func(map[string]any){set("deletionPolicy", "Retain")}, `spec.deletionPolicy: Unsupported value: "Retain"`},
		{"argoCD namespace not a DNS label", []func(map[string]any){set("engine", "ArgoCD"), set("argoCD.namespace", "Argo_CD")}, `spec.argoCD.namespace in body should match`},
		{"argoCD namespace empty", []func(map[string]any){set("argoCD.namespace", "")}, `spec.argoCD.namespace in body should be at least 1 chars long`},
		{"argoCD project too long", []func(map[string]any){set("argoCD.project", strings.Repeat("p", 254))}, `spec.argoCD.project: Too long`},
		{"argoCD project with slash", []func(map[string]any){set("argoCD.project", "team/tinkerbell")}, `spec.argoCD.project in body should match`},
		{"valuesFrom with ArgoCD", []func(map[string]any){set("engine", "ArgoCD"), set("valuesFrom", []any{map[string]any{"kind": "Secret", "name": "values"}})}, `spec.valuesFrom is not supported with spec.engine ArgoCD`},
		{"chart secretRef with ArgoCD", []func(map[string]any){set("engine", "ArgoCD"), set("chart.secretRef.name", "registry")}, `spec.chart.secretRef and spec.chart.insecure are not supported with spec.engine ArgoCD`},
		{"chart insecure with ArgoCD", []func(map[string]any){set("engine", "ArgoCD"), set("chart.insecure", true)}, `spec.chart.secretRef and spec.chart.insecure are not supported with spec.engine ArgoCD`},
		{"crds secretRef with ArgoCD", []func(map[string]any){set("engine", "ArgoCD"), set("crds.source", map[string]any{"url": "https://git.example.com/t.git", "secretRef": map[string]any{"name": "git"}})}, `spec.crds.source.secretRef is not supported with spec.engine ArgoCD`},
		{"imagePullSecrets with ArgoCD", []func(map[string]any){set("engine", "ArgoCD"), set("registry.imagePullSecrets", []any{map[string]any{"name": "pull"}})}, `spec.registry.imagePullSecrets is not supported with spec.engine ArgoCD`},
		{"scope unknown", []func(map[string]any){set("scope", "Site")}, `spec.scope: Unsupported value: "Site"`},
		{"scope Cluster on the legacy stack", []func(map[string]any){set("version", "0.6.2"), set("scope", "Cluster")}, `spec.scope Cluster is not supported by the legacy stack chart`},
		{"legacy stack unmanaged CRDs with ArgoCD", []func(map[string]any){set("engine", "ArgoCD"), set("version", "0.6.2"), set("crds.managed", false)}, `spec.crds.managed false is not supported with spec.engine ArgoCD on the legacy stack chart`},
	}
	g := NewWithT(t)
	ns := createNamespace(t, g)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			spec := validSpec()
			for _, m := range tt.mutate {
				m(spec)
			}
			obj := newTinkerbell(ns, fmt.Sprintf("invalid-%d", i), spec)
			err := testEnv.Client.Create(context.Background(), obj)
			g.Expect(err).To(HaveOccurred(), "the apiserver accepted an invalid object")
			g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %v", err)
			g.Expect(err.Error()).To(ContainSubstring(tt.wantMsg))
		})
	}
	g.Expect(len(tests)).To(BeNumerically(">=", 25))
}

// TestTinkerbell_NameLength: the name goes into generated names and label values (63 characters at most), so a
// longer one is refused at admission rather than failing later.
func TestTinkerbell_NameLength(t *testing.T) {
	g := NewWithT(t)
	ns := createNamespace(t, g)
	err := testEnv.Client.Create(context.Background(), newTinkerbell(ns, strings.Repeat("t", 64), validSpec()))
	g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %v", err)
	g.Expect(err.Error()).To(ContainSubstring("metadata.name may be at most 63 characters"))
	g.Expect(testEnv.Client.Create(context.Background(), newTinkerbell(ns, strings.Repeat("t", 63), validSpec()))).To(Succeed())
}

func TestTinkerbell_Defaults(t *testing.T) {
	g := NewWithT(t)
	ns := createNamespace(t, g)
	spec := validSpec()
	set("components.smee.dhcp.mode", "proxy")(spec)
	set("addons.kubeVip.lbClassOnly", true)(spec)
	set("crds.source.url", "https://git.example.com/tinkerbell.git")(spec)
	u := newTinkerbell(ns, "defaults", spec)
	g.Expect(testEnv.Client.Create(context.Background(), u)).To(Succeed())

	got := &kubetinkv1alpha1.Tinkerbell{}
	g.Expect(testEnv.Client.Get(context.Background(), client.ObjectKeyFromObject(u), got)).To(Succeed())
	g.Expect(got.Spec.TargetNamespace).To(Equal("tinkerbell"))
	g.Expect(got.Status.ObservedGeneration).To(Equal(int64(-1)), "kstatus must see a new object as in progress")
	g.Expect(got.Spec.Engine).To(Equal(kubetinkv1alpha1.EngineFlux))
	g.Expect(got.Spec.DeletionPolicy).To(Equal(kubetinkv1alpha1.DeletionPolicyDelete))
	g.Expect(got.Spec.Components.Smee.Enabled).To(HaveValue(BeTrue()))
	g.Expect(got.Spec.Components.Smee.DHCP.Enabled).To(HaveValue(BeTrue()))
	g.Expect(got.Spec.Addons.KubeVip.Enabled).To(HaveValue(BeTrue()))
	g.Expect(got.Spec.CRDs.Managed).To(HaveValue(BeTrue()))
	// Accessors agree with the server's defaults for fields that have none in the schema.
	g.Expect(got.GetInterval()).To(Equal(kubetinkv1alpha1.DefaultInterval))
	g.Expect(got.Spec.Components.GetTootles().IsEnabled()).To(BeTrue())
	g.Expect(got.CRDsManaged()).To(BeTrue())
	g.Expect(got.IsLegacyStack()).To(BeFalse())
}

func TestTinkerbell_ArgoCD(t *testing.T) {
	g := NewWithT(t)
	ns := createNamespace(t, g)

	// What Argo CD cannot do is refused only under ArgoCD: the same spec is fine with Flux.
	spec := validSpec()
	set("valuesFrom", []any{map[string]any{"kind": "Secret", "name": "values"}})(spec)
	set("chart.secretRef.name", "registry")(spec)
	set("registry.imagePullSecrets", []any{map[string]any{"name": "pull"}})(spec)
	u := newTinkerbell(ns, "flux", spec)
	g.Expect(testEnv.Client.Create(context.Background(), u)).To(Succeed())

	// Switching that object to Argo CD is refused, naming the field to remove.
	set("engine", "ArgoCD")(u.Object["spec"].(map[string]any))
	err := testEnv.Client.Update(context.Background(), u)
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("spec.valuesFrom is not supported with spec.engine ArgoCD"))
	g.Expect(err.Error()).To(ContainSubstring("spec.chart.secretRef and spec.chart.insecure are not supported"))
	g.Expect(err.Error()).To(ContainSubstring("spec.registry.imagePullSecrets is not supported"))

	// A spec Argo CD can install is accepted, and the accessors fill in the defaults.
	spec = validSpec()
	set("engine", "ArgoCD")(spec)
	set("chart.url", "oci://registry.example.com/charts/tinkerbell")(spec)
	set("crds.source.url", "https://git.example.com/tinkerbell.git")(spec)
	set("argoCD.project", "platform")(spec)
	u = newTinkerbell(ns, "argo", spec)
	g.Expect(testEnv.Client.Create(context.Background(), u)).To(Succeed())
	got := &kubetinkv1alpha1.Tinkerbell{}
	g.Expect(testEnv.Client.Get(context.Background(), client.ObjectKeyFromObject(u), got)).To(Succeed())
	g.Expect(got.GetEngine()).To(Equal(kubetinkv1alpha1.EngineArgoCD))
	g.Expect(got.GetArgoCDNamespace()).To(Equal(kubetinkv1alpha1.DefaultArgoCDNamespace))
	g.Expect(got.GetArgoCDProject()).To(Equal("platform"))

	// The legacy stack chart with managed CRDs is fine under Argo CD.
	spec = map[string]any{"version": "0.6.2", "publicIP": "192.168.2.10", "engine": "ArgoCD", "argoCD": map[string]any{"namespace": "gitops"}}
	g.Expect(testEnv.Client.Create(context.Background(), newTinkerbell(ns, "legacy-argo", spec))).To(Succeed())
}

func TestTinkerbell_Immutability(t *testing.T) {
	g := NewWithT(t)
	ns := createNamespace(t, g)
	spec := validSpec()
	set("targetNamespace", "provisioning")(spec)
	u := newTinkerbell(ns, "immutable", spec)
	g.Expect(testEnv.Client.Create(context.Background(), u)).To(Succeed())

	set("targetNamespace", "elsewhere")(u.Object["spec"].(map[string]any))
	err := testEnv.Client.Update(context.Background(), u)
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("spec.targetNamespace is immutable"))

	// Removing the field re-applies the default, which is a change as well.
	g.Expect(testEnv.Client.Get(context.Background(), client.ObjectKeyFromObject(u), u)).To(Succeed())
	set("targetNamespace", nil)(u.Object["spec"].(map[string]any))
	err = testEnv.Client.Update(context.Background(), u)
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("spec.targetNamespace is immutable"))

	// Other fields stay editable.
	g.Expect(testEnv.Client.Get(context.Background(), client.ObjectKeyFromObject(u), u)).To(Succeed())
	set("version", "v0.24.0")(u.Object["spec"].(map[string]any))
	g.Expect(testEnv.Client.Update(context.Background(), u)).To(Succeed())
}

func TestTinkerbell_LegacyStackNeedsNoArtifactsServer(t *testing.T) {
	g := NewWithT(t)
	ns := createNamespace(t, g)
	spec := map[string]any{"version": "0.6.2", "publicIP": "192.168.2.10"}
	g.Expect(testEnv.Client.Create(context.Background(), newTinkerbell(ns, "legacy", spec))).To(Succeed())
	spec = map[string]any{"version": "v0.25.0", "publicIP": "192.168.2.10", "addons": map[string]any{"hookOS": map[string]any{"enabled": false}}}
	g.Expect(testEnv.Client.Create(context.Background(), newTinkerbell(ns, "no-hook", spec))).To(Succeed())
}
