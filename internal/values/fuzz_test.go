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
	"bytes"
	"encoding/json"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/catalog"
)

// FuzzGenerate feeds arbitrary specs to Generate: it must never panic, and two calls with the same input must
// give the same values.
func FuzzGenerate(f *testing.F) {
	f.Add(uint8(0), uint16(0), uint8(0), int8(-1), "", "", "", "", []byte(nil))
	f.Add(uint8(12), uint16(0xffff), uint8(2), int8(3), "registry.example.com:5000/x", "eth1", "http://10.0.0.2:7173", "10.244.0.0/24", []byte(`{"a":{"b":[1,2]}}`))
	f.Add(uint8(1), uint16(0x0f0f), uint8(1), int8(9), "mirror", "eth 0", "https://x", "bad", []byte(`[1]`))
	f.Add(uint8(7), uint16(0x1234), uint8(5), int8(0), "m.local/a", "eno1", "http://[::1]:99999", "fd00::/8", []byte(`{"deployment":null}`))

	releases := catalog.Releases()
	f.Fuzz(func(t *testing.T, rel uint8, flags uint16, mode uint8, level int8, mirror, iface, artifacts, cidr string, values []byte) {
		r := releases[int(rel)%len(releases)]
		obj := fuzzObj(r.Version, flags, mode, level, mirror, iface, artifacts, cidr, values)
		facts := Facts{NodePodCIDRs: []string{cidr, "10.244.0.0/24"}, LoadBalancerIP: iface}

		a, errA := Generate(r, obj, facts)
		b, errB := Generate(r, obj, facts)
		if (errA == nil) != (errB == nil) {
			t.Fatalf("errors differ: %v / %v", errA, errB)
		}
		if errA != nil {
			if errA.Error() != errB.Error() {
				t.Fatalf("error messages differ: %v / %v", errA, errB)
			}
			return
		}
		ja, err := json.Marshal(a)
		if err != nil {
			t.Fatalf("values are not JSON: %v", err)
		}
		jb, _ := json.Marshal(b)
		if !bytes.Equal(ja, jb) {
			t.Fatalf("values differ between calls:\n%s\n%s", ja, jb)
		}
	})
}

func fuzzObj(version string, flags uint16, mode uint8, level int8, mirror, iface, artifacts, cidr string, values []byte) *kubetinkv1alpha1.Tinkerbell {
	bit := func(i uint) bool { return flags&(1<<i) != 0 }
	boolp := func(i uint) *bool { v := bit(i); return &v }
	obj := newObj(version)
	obj.Spec.ArtifactsFileServer = kubetinkv1alpha1.HTTPURL(artifacts)
	if bit(0) {
		obj.Spec.PublicIP = ""
	}
	if bit(1) {
		obj.Spec.TrustedProxies = []kubetinkv1alpha1.CIDR{kubetinkv1alpha1.CIDR(cidr)}
	}
	modes := []kubetinkv1alpha1.DHCPMode{"", kubetinkv1alpha1.DHCPModeReservation, kubetinkv1alpha1.DHCPModeProxy, kubetinkv1alpha1.DHCPModeAutoProxy, "bogus"}
	var lvl *int32
	if level >= 0 {
		l := int32(level)
		lvl = &l
	}
	common := func(i uint) kubetinkv1alpha1.ComponentCommon {
		return kubetinkv1alpha1.ComponentCommon{Enabled: boolp(i), LogLevel: lvl}
	}
	var n *int32
	if bit(13) {
		v := int32(level)
		n = &v
	}
	obj.Spec.Components = &kubetinkv1alpha1.Components{
		Smee: &kubetinkv1alpha1.SmeeComponent{ComponentCommon: common(2), DHCP: &kubetinkv1alpha1.SmeeDHCP{
			Enabled: boolp(3), Mode: modes[int(mode)%len(modes)],
			BindInterface: kubetinkv1alpha1.InterfaceName(iface), SourceInterface: kubetinkv1alpha1.InterfaceName(iface),
		}},
		Tootles:        &kubetinkv1alpha1.TootlesComponent{ComponentCommon: common(4)},
		Rufio:          &kubetinkv1alpha1.RufioComponent{ComponentCommon: common(5), MaxConcurrentReconciles: n},
		TinkServer:     &kubetinkv1alpha1.TinkServerComponent{ComponentCommon: common(6)},
		TinkController: &kubetinkv1alpha1.TinkControllerComponent{ComponentCommon: common(7), MaxConcurrentReconciles: n},
	}
	obj.Spec.Addons = &kubetinkv1alpha1.Addons{
		KubeVip: &kubetinkv1alpha1.KubeVipAddon{Enabled: boolp(8), Interface: kubetinkv1alpha1.InterfaceName(iface), LBClassOnly: bit(9)},
		HookOS:  &kubetinkv1alpha1.HookOSAddon{Enabled: boolp(10), DownloadURL: kubetinkv1alpha1.HTTPURL(artifacts)},
	}
	if bit(11) {
		obj.Spec.Registry = &kubetinkv1alpha1.RegistrySpec{Mirror: mirror}
	}
	if bit(12) {
		obj.Spec.CRDs = &kubetinkv1alpha1.CRDsSpec{Managed: boolp(14)}
	}
	if bit(15) {
		obj.Spec.Deployment = &kubetinkv1alpha1.DeploymentSpec{NodeSelector: map[string]string{mirror: iface}, Replicas: n}
	}
	if values != nil {
		obj.Spec.Values = &apiextensionsv1.JSON{Raw: values}
	}
	return obj
}
