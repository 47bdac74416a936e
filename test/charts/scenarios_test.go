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
	"maps"
	"slices"
	"testing"

	"github.com/kubetink/kubetink/internal/render"
	"github.com/kubetink/kubetink/internal/values"
)

// scenario is a Tinkerbell the examples do not cover.
type scenario struct {
	manifest string
	// facts replace the package's facts when set.
	facts *values.Facts
	// knownChartError, knownMismatch and refused are example's.
	knownChartError, knownMismatch, refused string
}

// scenarios reach the settings the examples leave at their defaults, so that every value Kubetink writes is
// templated by every release: services and DHCP off, every log level, kube-vip off with HookOS on, an existing
// claim, a host name for the artifacts server, a cluster whose Nodes have no pod CIDR, full placement on the
// legacy chart.
var scenarios = map[string]scenario{
	"unified-switches": {manifest: `
apiVersion: kubetink.io/v1alpha1
kind: Tinkerbell
metadata: {name: switches, namespace: sites}
spec:
  version: v0.25.0
  targetNamespace: switches
  publicIP: 10.1.0.10
  artifactsFileServer: http://10.1.0.11:7173
  trustedProxies: [10.50.0.0/16, 10.60.0.0/16]
  crds: {managed: false}
  components:
    smee: {logLevel: 3, dhcp: {enabled: false}}
    tootles: {enabled: false, logLevel: 1}
    tinkServer: {logLevel: 2}
    tinkController: {logLevel: 1}
    rufio: {logLevel: 2}
  addons:
    kubeVip: {enabled: false}
    hookOS:
      persistence: {existingClaim: hookos-artifacts}
`},
	// With HookOS on, every unified chart takes the file server Service's loadBalancerIP from the host of
	// artifactsFileServer when it is an IPv4 address and otherwise requires optional.hookos.service.loadBalancerIP
	// (v0.19-v0.22, templates/hookos/service.yaml) or optional.osie.service.loadBalancerIP (v0.23 and later,
	// templates/osie/service.yaml, which still prefers the optional.hookos key): Kubetink refuses a host name
	// without one, naming the field, rather than letting the install fail.
	"unified-artifacts-host-name": {manifest: `
apiVersion: kubetink.io/v1alpha1
kind: Tinkerbell
metadata: {name: named, namespace: sites}
spec:
  version: v0.25.0
  publicIP: 10.1.0.10
  artifactsFileServer: http://artifacts.example.com:7173
`, refused: "spec.artifactsFileServer: the HookOS file server"},
	// The same host name with the Service's IP given in spec.values: every release's chart takes it.
	"unified-artifacts-host-name-with-ip": {manifest: `
apiVersion: kubetink.io/v1alpha1
kind: Tinkerbell
metadata: {name: named, namespace: sites}
spec:
  version: v0.25.0
  publicIP: 10.1.0.10
  artifactsFileServer: http://artifacts.example.com:7173
  values:
    optional: {hookos: {service: {loadBalancerIP: 10.1.0.11}}}
`},
	// ha-placement without maxConcurrentReconciles, so that every release takes it.
	"unified-placement": {manifest: `
apiVersion: kubetink.io/v1alpha1
kind: Tinkerbell
metadata: {name: placed, namespace: sites}
spec:
  version: v0.25.0
  publicIP: 10.1.0.10
  artifactsFileServer: http://10.1.0.11:7173
  deployment:
    replicas: 3
    nodeSelector: {kubetink.io/provisioning-network: "true"}
    tolerations:
      - {key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule}
    resources:
      requests: {cpu: 200m, memory: 128Mi}
      limits: {cpu: "1", memory: 256Mi}
`},
	// Resources with requests only: Kubetink writes null limits, so Helm drops the chart's default limits
	// (deployment.resources.limits, 500m CPU and 128Mi memory in every unified release) instead of merging the
	// requests into them; a request above a default limit would make the Pods invalid.
	"unified-requests-only": {manifest: `
apiVersion: kubetink.io/v1alpha1
kind: Tinkerbell
metadata: {name: requests, namespace: sites}
spec:
  version: v0.25.0
  publicIP: 10.1.0.10
  artifactsFileServer: http://10.1.0.11:7173
  deployment:
    resources:
      requests: {cpu: "1", memory: 256Mi}
`},
	"legacy-requests-only": {manifest: `
apiVersion: kubetink.io/v1alpha1
kind: Tinkerbell
metadata: {name: requests, namespace: sites}
spec:
  version: "0.6.2"
  publicIP: 10.2.0.10
  trustedProxies: [10.244.0.0/16]
  deployment:
    resources:
      requests: {cpu: "1", memory: 256Mi}
`, knownMismatch: " limit"}, // Finding, left: each stack 0.6.2 subchart reads resources.limits.cpu and .memory one by one (a null fails them), so its default limits stay.
	"unified-artifacts-default-port": {manifest: `
apiVersion: kubetink.io/v1alpha1
kind: Tinkerbell
metadata: {name: port80, namespace: sites}
spec:
  version: v0.25.0
  publicIP: 10.1.0.10
  artifactsFileServer: http://10.1.0.11
`},
	"unified-no-node-cidrs": {manifest: `
apiVersion: kubetink.io/v1alpha1
kind: Tinkerbell
metadata: {name: nocidrs, namespace: sites}
spec:
  version: v0.25.0
  publicIP: 10.1.0.10
  artifactsFileServer: http://10.1.0.11:7173
`, facts: &values.Facts{}},
	// The stack's smee and hegel subcharts require trusted proxies (required "missing trustedProxies" in
	// charts/smee/templates/deployment.yaml and charts/hegel/templates/deployment.yaml); with no spec.trustedProxies
	// and Nodes without a pod CIDR (some CNIs leave it unset) Kubetink refuses, naming the field, rather than
	// letting the install fail.
	"legacy-no-node-cidrs": {manifest: `
apiVersion: kubetink.io/v1alpha1
kind: Tinkerbell
metadata: {name: nocidrs, namespace: sites}
spec:
  version: "0.6.2"
  publicIP: 10.2.0.10
`, facts: &values.Facts{}, refused: "spec.trustedProxies: the legacy stack chart 0.6.2 requires trusted proxies"},
	"legacy-everything": {manifest: `
apiVersion: kubetink.io/v1alpha1
kind: Tinkerbell
metadata: {name: legacy, namespace: sites}
spec:
  version: "0.6.2"
  publicIP: 10.2.0.10
  artifactsFileServer: http://10.2.0.11:8080/hook
  trustedProxies: [10.244.0.0/16]
  registry: {mirror: registry.example.com/mirror}
  components:
    smee:
      logLevel: 0
      dhcp: {mode: proxy, sourceInterface: eth2}
  deployment:
    replicas: 2
    nodeSelector: {kubetink.io/provisioning-network: "true"}
    tolerations:
      - {key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule}
    affinity:
      podAntiAffinity:
        preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 100
            podAffinityTerm: {topologyKey: kubernetes.io/hostname}
    resources:
      requests: {cpu: 100m, memory: 64Mi}
      limits: {cpu: 500m, memory: 256Mi}
  addons:
    kubeVip: {interface: eno2, lbClassOnly: true}
    hookOS:
      downloadURL: http://files.example.com/hook
      persistence:
        localPersistentVolume: {path: /var/lib/hook, storageClassName: hook-local, size: 3Gi}
`},
	"legacy-kube-vip-off": {manifest: `
apiVersion: kubetink.io/v1alpha1
kind: Tinkerbell
metadata: {name: legacy, namespace: sites}
spec:
  version: "0.6.2"
  publicIP: 10.2.0.10
  components:
    smee: {dhcp: {enabled: false}}
    tootles: {enabled: false}
    tinkServer: {enabled: false}
    tinkController: {enabled: false}
    rufio: {enabled: false}
  addons:
    kubeVip: {enabled: false}
    hookOS: {enabled: false}
`},
}

// TestScenariosAgainstUpstreamCharts runs the checks of TestExamplesAgainstUpstreamCharts on the scenarios.
func TestScenariosAgainstUpstreamCharts(t *testing.T) {
	for _, name := range slices.Sorted(maps.Keys(scenarios)) {
		s := scenarios[name]
		obj, err := render.Decode([]byte(s.manifest))
		if err != nil {
			t.Fatalf("scenario %s: %v", name, err)
		}
		testEveryRelease(t, example{name: name, obj: obj, facts: s.facts, knownChartError: s.knownChartError, knownMismatch: s.knownMismatch, refused: s.refused})
	}
}
