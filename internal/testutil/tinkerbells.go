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

package testutil

import (
	"fmt"
	"strings"
)

// ValidTinkerbellSpec is the smallest spec the API accepts for the unified chart.
func ValidTinkerbellSpec() map[string]any {
	return map[string]any{
		"version":             "v0.25.0",
		"publicIP":            "192.168.2.10",
		"artifactsFileServer": "http://192.168.2.11:7173",
	}
}

// InvalidTinkerbell is an object the API refuses: ValidTinkerbellSpec changed by Mutate, named Name when Name is
// not empty. WantMsg is part of the apiserver's message.
type InvalidTinkerbell struct {
	Case    string
	Mutate  []func(map[string]any)
	WantMsg string
	Name    string
}

// InvalidTinkerbells is every refusal the API's markers and CEL rules make on create, one case each. The API's
// own test (api/v1alpha1) submits them to the apiserver; internal/crdschema's test checks that "kubetink render"
// refuses each of them the same way.
func InvalidTinkerbells() []InvalidTinkerbell {
	disabled := map[string]any{"enabled": false}
	return []InvalidTinkerbell{
		{"version missing", []func(map[string]any){Set("version", nil)}, `spec.version: Required value`, ""},
		{"version not semver", []func(map[string]any){Set("version", "latest")}, `spec.version in body should match`, ""},
		{"version two parts", []func(map[string]any){Set("version", "v0.25")}, `spec.version in body should match`, ""},
		{"version too long", []func(map[string]any){Set("version", "v0.25.0-"+strings.Repeat("a", 60))}, `spec.version: Too long`, ""},
		{"targetNamespace not a DNS label", []func(map[string]any){Set("targetNamespace", "Tinker_Bell")}, `spec.targetNamespace in body should match`, ""},
		{"targetNamespace too long", []func(map[string]any){Set("targetNamespace", strings.Repeat("a", 64))}, `spec.targetNamespace: Too long`, ""},
		{"targetNamespace kube-system", []func(map[string]any){Set("targetNamespace", "kube-system")}, `spec.targetNamespace may not be a kube- system namespace`, ""},
		{"serviceAccountName not a DNS name", []func(map[string]any){Set("serviceAccountName", "Tinker_Bell")}, `spec.serviceAccountName in body should match`, ""},
		{"argoCD namespace kube-public", []func(map[string]any){Set("engine", "ArgoCD"), Set("argoCD.namespace", "kube-public")}, `spec.argoCD.namespace may not be a kube- system namespace`, ""},
		{"engine unknown", []func(map[string]any){Set("engine", "Helm")}, `spec.engine: Unsupported value: "Helm"`, ""},
		{"interval not a duration", []func(map[string]any){Set("interval", "10 minutes")}, `spec.interval in body should match`, ""},
		{"publicIP out of range", []func(map[string]any){Set("publicIP", "300.1.1.1")}, `spec.publicIP: Invalid value: "300.1.1.1": must be an IPv4 address`, ""},
		{"publicIP IPv6", []func(map[string]any){Set("publicIP", "fd00::1")}, `spec.publicIP: Invalid value: "fd00::1": must be an IPv4 address`, ""},
		{"publicIP and publicIPFrom", []func(map[string]any){Set("publicIPFrom.name", "lb")}, `spec.publicIP and spec.publicIPFrom are mutually exclusive`, ""},
		{"publicIPFrom without name", []func(map[string]any){Set("publicIP", nil), Set("publicIPFrom.namespace", "default")}, `spec.publicIPFrom.name: Required value`, ""},
		{"trustedProxies prefix too long", []func(map[string]any){Set("trustedProxies", []any{"10.0.0.0/33"})}, `spec.trustedProxies[0]: Invalid value: "10.0.0.0/33": must be a CIDR`, ""},
		{"trustedProxies not a CIDR", []func(map[string]any){Set("trustedProxies", []any{"10.244.0.0/16", "pods"})}, `spec.trustedProxies[1]: Invalid value: "pods": must be a CIDR`, ""},
		{"trustedProxies duplicate", []func(map[string]any){Set("trustedProxies", []any{"10.244.0.0/16", "10.244.0.0/16"})}, `spec.trustedProxies[1]: Duplicate value`, ""},
		{"trustedProxies too many", []func(map[string]any){Set("trustedProxies", Repeat(65, func(i int) any { return fmt.Sprintf("10.%d.0.0/16", i) }))}, `spec.trustedProxies: Too many`, ""},
		{"artifactsFileServer not http", []func(map[string]any){Set("artifactsFileServer", "ftp://192.168.2.11/hook")}, `spec.artifactsFileServer: Invalid value: "ftp://192.168.2.11/hook": must be an absolute http:// or https:// URL`, ""},
		{"artifactsFileServer missing with HookOS", []func(map[string]any){Set("artifactsFileServer", nil)}, `spec.artifactsFileServer is required unless spec.addons.hookOS.enabled is false`, ""},
		{"every component disabled", []func(map[string]any){Set("components", map[string]any{"smee": disabled, "tootles": disabled, "rufio": disabled, "tinkServer": disabled, "tinkController": disabled})}, `spec.components: at least one component must be enabled`, ""},
		{"dhcp mode unknown", []func(map[string]any){Set("components.smee.dhcp.mode", "relay")}, `spec.components.smee.dhcp.mode: Unsupported value: "relay"`, ""},
		{"dhcp bindInterface with shell", []func(map[string]any){Set("components.smee.dhcp.bindInterface", "eth0;reboot")}, `spec.components.smee.dhcp.bindInterface in body should match`, ""},
		{"logLevel too high", []func(map[string]any){Set("components.tootles.logLevel", int64(12))}, `spec.components.tootles.logLevel: Invalid value: 12: spec.components.tootles.logLevel in body should be less than or equal to 9`, ""},
		{"maxConcurrentReconciles zero", []func(map[string]any){Set("components.rufio.maxConcurrentReconciles", int64(0))}, `spec.components.rufio.maxConcurrentReconciles in body should be greater than or equal to 1`, ""},
		{"replicas negative", []func(map[string]any){Set("deployment.replicas", int64(-1))}, `spec.deployment.replicas in body should be greater than or equal to 0`, ""},
		{"kubeVip interface too long", []func(map[string]any){Set("addons.kubeVip.interface", "enp0s31f6-vlan100")}, `spec.addons.kubeVip.interface: Too long`, ""},
		{"hookOS downloadURL file scheme", []func(map[string]any){Set("addons.hookOS.downloadURL", "file:///srv/hook")}, `spec.addons.hookOS.downloadURL: Invalid value: "file:///srv/hook": must be an absolute http:// or https:// URL`, ""},
		{"hookOS persistence both kinds", []func(map[string]any){Set("addons.hookOS.persistence", map[string]any{"existingClaim": "hook", "localPersistentVolume": map[string]any{"path": "/srv/hook"}})}, `existingClaim and localPersistentVolume are mutually exclusive`, ""},
		{"hookOS local path relative", []func(map[string]any){Set("addons.hookOS.persistence.localPersistentVolume.path", "srv/hook")}, `spec.addons.hookOS.persistence.localPersistentVolume.path in body should match '^/'`, ""},
		{"chart url https", []func(map[string]any){Set("chart.url", "https://ghcr.io/tinkerbell/charts/tinkerbell")}, `spec.chart.url must be an oci:// URL`, ""},
		{"chart secretRef without name", []func(map[string]any){Set("chart.secretRef", map[string]any{})}, `spec.chart.secretRef.name: Required value`, ""},
		{"registry mirror with scheme", []func(map[string]any){Set("registry.mirror", "https://registry.example.com")}, `spec.registry.mirror in body should match`, ""},
		{"crds source scp-style url", []func(map[string]any){Set("crds.source.url", "git@github.com:tinkerbell/tinkerbell.git")}, `spec.crds.source.url must be an http://, https:// or ssh:// URL`, ""},
		{"valuesFrom kind Pod", []func(map[string]any){Set("valuesFrom", []any{map[string]any{"kind": "Pod", "name": "values"}})}, `spec.valuesFrom[0].kind: Unsupported value: "Pod"`, ""},
		{"valuesFrom without name", []func(map[string]any){Set("valuesFrom", []any{map[string]any{"kind": "Secret"}})}, `spec.valuesFrom[0].name: Required value`, ""},
		{"valuesFrom too many", []func(map[string]any){Set("valuesFrom", Repeat(17, func(i int) any { return map[string]any{"kind": "ConfigMap", "name": fmt.Sprintf("v%d", i)} }))}, `spec.valuesFrom: Too many`, ""},
		{"deletionPolicy unknown", []func(map[string]any){Set("deletionPolicy", "Retain")}, `spec.deletionPolicy: Unsupported value: "Retain"`, ""},
		{"argoCD namespace not a DNS label", []func(map[string]any){Set("engine", "ArgoCD"), Set("argoCD.namespace", "Argo_CD")}, `spec.argoCD.namespace in body should match`, ""},
		{"argoCD namespace empty", []func(map[string]any){Set("argoCD.namespace", "")}, `spec.argoCD.namespace in body should be at least 1 chars long`, ""},
		{"argoCD project too long", []func(map[string]any){Set("argoCD.project", strings.Repeat("p", 254))}, `spec.argoCD.project: Too long`, ""},
		{"argoCD project with slash", []func(map[string]any){Set("argoCD.project", "team/tinkerbell")}, `spec.argoCD.project in body should match`, ""},
		{"valuesFrom with ArgoCD", []func(map[string]any){Set("engine", "ArgoCD"), Set("valuesFrom", []any{map[string]any{"kind": "Secret", "name": "values"}})}, `spec.valuesFrom is not supported with spec.engine ArgoCD`, ""},
		{"chart secretRef with ArgoCD", []func(map[string]any){Set("engine", "ArgoCD"), Set("chart.secretRef.name", "registry")}, `spec.chart.secretRef and spec.chart.insecure are not supported with spec.engine ArgoCD`, ""},
		{"chart insecure with ArgoCD", []func(map[string]any){Set("engine", "ArgoCD"), Set("chart.insecure", true)}, `spec.chart.secretRef and spec.chart.insecure are not supported with spec.engine ArgoCD`, ""},
		{"crds secretRef with ArgoCD", []func(map[string]any){Set("engine", "ArgoCD"), Set("crds.source", map[string]any{"url": "https://git.example.com/t.git", "secretRef": map[string]any{"name": "git"}})}, `spec.crds.source.secretRef is not supported with spec.engine ArgoCD`, ""},
		{"imagePullSecrets with ArgoCD", []func(map[string]any){Set("engine", "ArgoCD"), Set("registry.imagePullSecrets", []any{map[string]any{"name": "pull"}})}, `spec.registry.imagePullSecrets is not supported with spec.engine ArgoCD`, ""},
		{"scope unknown", []func(map[string]any){Set("scope", "Site")}, `spec.scope: Unsupported value: "Site"`, ""},
		{"scope Cluster on the legacy stack", []func(map[string]any){Set("version", "0.6.2"), Set("scope", "Cluster")}, `spec.scope Cluster is not supported by the legacy stack chart`, ""},
		{"legacy stack unmanaged CRDs with ArgoCD", []func(map[string]any){Set("engine", "ArgoCD"), Set("version", "0.6.2"), Set("crds.managed", false)}, `spec.crds.managed false is not supported with spec.engine ArgoCD on the legacy stack chart`, ""},
		{"name too long", nil, `metadata.name may be at most 63 characters`, strings.Repeat("t", 64)},
		{"name not a DNS subdomain", nil, `metadata.name: Invalid value: "Tinker_Bell"`, "Tinker_Bell"},
	}
}

// Set returns a mutation that sets the field at the dotted path to value, creating the objects on the way; a nil
// value removes the field.
func Set(path string, value any) func(map[string]any) {
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

// Repeat returns the list of f(0), …, f(n-1).
func Repeat(n int, f func(i int) any) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}
