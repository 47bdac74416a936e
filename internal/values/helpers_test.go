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

package values

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/catalog"
)

// testFacts are the cluster facts every test uses unless it says otherwise.
var testFacts = Facts{
	NodePodCIDRs:   []string{"10.244.1.0/24", "10.244.0.0/24", "10.244.1.0/24"},
	LoadBalancerIP: "192.168.2.50",
}

// loadExamples reads every Tinkerbell of examples/*.yaml, by file name (and object name, in files holding
// several, such as multi-site.yaml).
func loadExamples(t *testing.T) map[string]*kubetinkv1alpha1.Tinkerbell {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	out := map[string]*kubetinkv1alpha1.Tinkerbell{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs := strings.Split(string(data), "\n---\n")
		for _, doc := range docs {
			obj := &kubetinkv1alpha1.Tinkerbell{}
			if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			name := filepath.Base(f)
			if len(docs) > 1 {
				name += "/" + obj.Name
			}
			out[name] = obj
		}
	}
	return out
}

// newObj returns a Tinkerbell for version with the public IP and artifacts file server set.
func newObj(version string) *kubetinkv1alpha1.Tinkerbell {
	return &kubetinkv1alpha1.Tinkerbell{
		ObjectMeta: metav1.ObjectMeta{Name: "tinkerbell", Namespace: "kubetink-system"},
		Spec: kubetinkv1alpha1.TinkerbellSpec{
			Version:             version,
			PublicIP:            "192.168.2.111",
			ArtifactsFileServer: "http://192.168.2.112:7173",
		},
	}
}

// richObj sets every field that reaches the values, with what rel supports: the legacy chart has no DHCP bind
// interface and no log levels besides Smee's, and only v0.23 and later take maxConcurrentReconciles.
func richObj(rel catalog.Release) *kubetinkv1alpha1.Tinkerbell {
	obj := newObj(rel.Version)
	obj.Spec.TrustedProxies = []kubetinkv1alpha1.CIDR{"10.244.0.0/16", "fd00:10:244::/56"}
	obj.Spec.Components = &kubetinkv1alpha1.Components{
		Smee: &kubetinkv1alpha1.SmeeComponent{
			ComponentCommon: kubetinkv1alpha1.ComponentCommon{LogLevel: new(int32(2))},
			DHCP: &kubetinkv1alpha1.SmeeDHCP{
				Mode:            kubetinkv1alpha1.DHCPModeAutoProxy,
				BindInterface:   "eth1",
				SourceInterface: "eth1",
			},
		},
		Tootles:        &kubetinkv1alpha1.TootlesComponent{ComponentCommon: kubetinkv1alpha1.ComponentCommon{LogLevel: new(int32(1))}},
		Rufio:          &kubetinkv1alpha1.RufioComponent{MaxConcurrentReconciles: new(int32(10))},
		TinkServer:     &kubetinkv1alpha1.TinkServerComponent{ComponentCommon: kubetinkv1alpha1.ComponentCommon{LogLevel: new(int32(3))}},
		TinkController: &kubetinkv1alpha1.TinkControllerComponent{MaxConcurrentReconciles: new(int32(5))},
	}
	obj.Spec.Deployment = &kubetinkv1alpha1.DeploymentSpec{
		Replicas:     new(int32(2)),
		NodeSelector: map[string]string{"kubetink.io/provisioning-network": "true"},
		Tolerations: []corev1.Toleration{{
			Key: "node-role.kubernetes.io/control-plane", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule,
		}},
		Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "kubernetes.io/arch", Operator: corev1.NodeSelectorOpIn, Values: []string{"amd64"}}},
			}}},
		}},
		Resources: &corev1.ResourceRequirements{
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("512Mi")},
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("256Mi")},
		},
	}
	obj.Spec.Addons = &kubetinkv1alpha1.Addons{
		KubeVip: &kubetinkv1alpha1.KubeVipAddon{Interface: "eno1", LBClassOnly: true},
		HookOS: &kubetinkv1alpha1.HookOSAddon{
			DownloadURL: "http://files.example.com/hook/v0.11.1",
			Persistence: &kubetinkv1alpha1.HookOSPersistence{LocalPersistentVolume: &kubetinkv1alpha1.LocalPersistentVolume{
				Path: "/var/lib/hookos", StorageClassName: "local-path", Size: new(resource.MustParse("4Gi")),
			}},
		},
	}
	obj.Spec.Registry = &kubetinkv1alpha1.RegistrySpec{Mirror: "registry.example.com:5000/tinkerbell"}
	if rel.Legacy {
		obj.Spec.Components.Smee.DHCP.BindInterface = ""
		obj.Spec.Components.Tootles.LogLevel = nil
		obj.Spec.Components.TinkServer.LogLevel = nil
	}
	if rel.Legacy || catalog.Compare(rel.Version, "v0.23.0") < 0 {
		obj.Spec.Components.Rufio.MaxConcurrentReconciles = nil
		obj.Spec.Components.TinkController.MaxConcurrentReconciles = nil
	}
	return obj
}

// offObj turns off everything that can be turned off.
func offObj(version string) *kubetinkv1alpha1.Tinkerbell {
	obj := newObj(version)
	off := new(false)
	obj.Spec.ArtifactsFileServer = ""
	obj.Spec.Components = &kubetinkv1alpha1.Components{
		Smee:           &kubetinkv1alpha1.SmeeComponent{DHCP: &kubetinkv1alpha1.SmeeDHCP{Enabled: off}},
		Tootles:        &kubetinkv1alpha1.TootlesComponent{ComponentCommon: kubetinkv1alpha1.ComponentCommon{Enabled: off}},
		Rufio:          &kubetinkv1alpha1.RufioComponent{ComponentCommon: kubetinkv1alpha1.ComponentCommon{Enabled: off}},
		TinkServer:     &kubetinkv1alpha1.TinkServerComponent{ComponentCommon: kubetinkv1alpha1.ComponentCommon{Enabled: off}},
		TinkController: &kubetinkv1alpha1.TinkControllerComponent{ComponentCommon: kubetinkv1alpha1.ComponentCommon{Enabled: off}},
	}
	obj.Spec.Addons = &kubetinkv1alpha1.Addons{
		KubeVip: &kubetinkv1alpha1.KubeVipAddon{Enabled: off},
		HookOS:  &kubetinkv1alpha1.HookOSAddon{Enabled: off},
	}
	obj.Spec.CRDs = &kubetinkv1alpha1.CRDsSpec{Managed: off}
	return obj
}

// withValues sets spec.values from a YAML document.
func withValues(t *testing.T, obj *kubetinkv1alpha1.Tinkerbell, doc string) *kubetinkv1alpha1.Tinkerbell {
	t.Helper()
	raw, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	obj.Spec.Values = &apiextensionsv1.JSON{Raw: raw}
	return obj
}

// lookup returns the catalog release of version.
func lookup(t testing.TB, version string) catalog.Release {
	t.Helper()
	rel, err := catalog.Lookup(version)
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
