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
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/catalog"
)

func TestMirrorImage(t *testing.T) {
	const m = "registry.example.com:5000/tinkerbell"
	tests := []struct {
		mirror, ref, want string
	}{
		{m, "ghcr.io/tinkerbell/tinkerbell", m + "/tinkerbell/tinkerbell"},
		{m, "ghcr.io/kube-vip/kube-vip:v1.0.0", m + "/kube-vip/kube-vip:v1.0.0"},
		{m, "quay.io/tinkerbell/smee:v0.15.1", m + "/tinkerbell/smee:v0.15.1"},
		{m, "nginx:1.29.5", m + "/library/nginx:1.29.5"},
		{m, "bash:5.2.37", m + "/library/bash:5.2.37"},
		{m, "docker.io/nginx:1.29.5", m + "/library/nginx:1.29.5"},
		{m, "docker.io/kubevip/kube-vip:v1", m + "/kubevip/kube-vip:v1"},
		{m, "kubevip/kube-vip:v1", m + "/kubevip/kube-vip:v1"},
		{m, "localhost/foo:1", m + "/foo:1"},
		{m, "localhost:5000/foo/bar@sha256:abc", m + "/foo/bar@sha256:abc"},
		{m, "ghcr.io/tinkerbell/captain/artifacts:v0.1.0", m + "/tinkerbell/captain/artifacts:v0.1.0"},
		{"mirror.local/", "nginx", "mirror.local/library/nginx"},
		{"mirror.local", "ghcr.io/jacobweinstock/dhcprelay", "mirror.local/jacobweinstock/dhcprelay"},
		{"", "nginx:1.29.5", "nginx:1.29.5"},
	}
	for _, tt := range tests {
		if got := MirrorImage(tt.mirror, tt.ref); got != tt.want {
			t.Errorf("MirrorImage(%q, %q) = %q, want %q", tt.mirror, tt.ref, got, tt.want)
		}
	}
}

// mustGenerate generates the values of obj for its own version.
func mustGenerate(t *testing.T, obj *kubetinkv1alpha1.Tinkerbell, facts Facts) map[string]any {
	t.Helper()
	v, err := Generate(lookup(t, obj.Spec.Version), obj, facts)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return v
}

// expect checks the value at each path; a nil want means the path must be absent.
func expect(t *testing.T, v map[string]any, want map[string]any) {
	t.Helper()
	for _, path := range sortedKeys(want) {
		got, ok := valueAt(v, path)
		if want[path] == nil {
			if ok {
				t.Errorf("%s = %v, want it absent", path, got)
			}
			continue
		}
		if !ok {
			t.Errorf("%s is absent, want %v", path, want[path])
			continue
		}
		if !reflect.DeepEqual(got, want[path]) {
			t.Errorf("%s = %#v, want %#v", path, got, want[path])
		}
	}
}

func TestGenerateDefaults(t *testing.T) {
	v := mustGenerate(t, newObj("v0.25.0"), testFacts)
	expect(t, v, map[string]any{
		"publicIP":                                    "192.168.2.111",
		"trustedProxies":                              []any{"10.244.0.0/24", "10.244.1.0/24"},
		"artifactsFileServer":                         "http://192.168.2.112:7173",
		"deployment.envs.globals.enableSmee":          true,
		"deployment.envs.globals.enableTootles":       true,
		"deployment.envs.globals.enableTinkServer":    true,
		"deployment.envs.globals.enableCRDMigrations": false,
		"deployment.envs.smee.dhcpEnabled":            true,
		"deployment.envs.smee.dhcpMode":               "reservation",
		"deployment.init.enabled":                     true,
		"optional.kubevip.enabled":                    true,
		"optional.hookos.enabled":                     true,
		"optional.osie.port":                          int64(7173),
		"service.lbClass":                             nil,
		"deployment.image":                            nil,
		"deployment.envs.smee.logLevel":               nil,
		"deployment.replicas":                         nil,
	})
}

func TestGenerateToggles(t *testing.T) {
	unified := mustGenerate(t, offObj("v0.25.0"), testFacts)
	expect(t, unified, map[string]any{
		"deployment.envs.globals.enableSmee":            true,
		"deployment.envs.globals.enableTootles":         false,
		"deployment.envs.globals.enableTinkServer":      false,
		"deployment.envs.globals.enableTinkController":  false,
		"deployment.envs.globals.enableRufioController": false,
		"deployment.envs.globals.enableCRDMigrations":   true,
		"deployment.envs.smee.dhcpEnabled":              false,
		"deployment.init.enabled":                       false,
		"optional.kubevip.enabled":                      false,
		"service.lbClass":                               "",
		"optional.osie.service.lbClass":                 "",
		"optional.hookos.enabled":                       false,
		"optional.osie.port":                            nil,
		"artifactsFileServer":                           nil,
	})
	older := mustGenerate(t, offObj("v0.22.1"), testFacts)
	expect(t, older, map[string]any{
		"optional.hookos.service.lbClass": "",
		"optional.osie":                   nil,
	})
	legacy := mustGenerate(t, offObj("0.6.2"), testFacts)
	expect(t, legacy, map[string]any{
		"smee.deploy":            true,
		"hegel.deploy":           false,
		"rufio.deploy":           false,
		"tink.server.deploy":     false,
		"tink.controller.deploy": false,
		"smee.dhcp.enabled":      false,
		"stack.relay.enabled":    false,
		"stack.kubevip.enabled":  false,
		"stack.lbClass":          "",
		"stack.hook.enabled":     false,
		"deployment":             nil,
		"optional":               nil,
	})
}

func TestGenerateDHCP(t *testing.T) {
	tests := []struct {
		name    string
		version string
		smee    *kubetinkv1alpha1.SmeeComponent
		want    map[string]any
	}{
		{
			name: "default is reservation", version: "v0.25.0",
			want: map[string]any{"deployment.envs.smee.dhcpMode": "reservation", "deployment.envs.smee.dhcpBindInterface": nil, "deployment.init.enabled": true},
		},
		{
			name: "proxy on one interface", version: "v0.19.0",
			smee: &kubetinkv1alpha1.SmeeComponent{DHCP: &kubetinkv1alpha1.SmeeDHCP{Mode: kubetinkv1alpha1.DHCPModeProxy, BindInterface: "eth1", SourceInterface: "eth2"}},
			want: map[string]any{
				"deployment.envs.smee.dhcpMode": "proxy", "deployment.envs.smee.dhcpBindInterface": "eth1",
				"deployment.init.sourceInterface": "eth2", "deployment.init.enabled": true,
			},
		},
		{
			name: "auto-proxy", version: "v0.23.0",
			smee: &kubetinkv1alpha1.SmeeComponent{DHCP: &kubetinkv1alpha1.SmeeDHCP{Mode: kubetinkv1alpha1.DHCPModeAutoProxy}},
			want: map[string]any{"deployment.envs.smee.dhcpMode": "auto-proxy"},
		},
		{
			name: "DHCP off drops the broadcast init container", version: "v0.25.0",
			smee: &kubetinkv1alpha1.SmeeComponent{DHCP: &kubetinkv1alpha1.SmeeDHCP{Enabled: new(false)}},
			want: map[string]any{"deployment.envs.smee.dhcpEnabled": false, "deployment.init.enabled": false},
		},
		{
			name: "Smee off drops the broadcast init container", version: "v0.25.0",
			smee: &kubetinkv1alpha1.SmeeComponent{ComponentCommon: kubetinkv1alpha1.ComponentCommon{Enabled: new(false)}},
			want: map[string]any{"deployment.envs.globals.enableSmee": false, "deployment.init.enabled": false},
		},
		{
			name: "legacy proxy with the relay on an interface", version: "0.6.2",
			smee: &kubetinkv1alpha1.SmeeComponent{DHCP: &kubetinkv1alpha1.SmeeDHCP{Mode: kubetinkv1alpha1.DHCPModeProxy, SourceInterface: "eth1"}},
			want: map[string]any{"smee.dhcp.mode": "proxy", "smee.dhcp.enabled": true, "stack.relay.enabled": true, "stack.relay.sourceInterface": "eth1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := newObj(tt.version)
			obj.Spec.Components = &kubetinkv1alpha1.Components{Smee: tt.smee}
			expect(t, mustGenerate(t, obj, testFacts), tt.want)
		})
	}
}

func TestGenerateLogLevels(t *testing.T) {
	obj := newObj("v0.19.0")
	obj.Spec.Components = &kubetinkv1alpha1.Components{
		Smee:           &kubetinkv1alpha1.SmeeComponent{ComponentCommon: kubetinkv1alpha1.ComponentCommon{LogLevel: new(int32(0))}},
		Tootles:        &kubetinkv1alpha1.TootlesComponent{ComponentCommon: kubetinkv1alpha1.ComponentCommon{LogLevel: new(int32(1))}},
		Rufio:          &kubetinkv1alpha1.RufioComponent{ComponentCommon: kubetinkv1alpha1.ComponentCommon{LogLevel: new(int32(2))}},
		TinkServer:     &kubetinkv1alpha1.TinkServerComponent{ComponentCommon: kubetinkv1alpha1.ComponentCommon{LogLevel: new(int32(3))}},
		TinkController: &kubetinkv1alpha1.TinkControllerComponent{ComponentCommon: kubetinkv1alpha1.ComponentCommon{LogLevel: new(int32(9))}},
	}
	expect(t, mustGenerate(t, obj, testFacts), map[string]any{
		"deployment.envs.smee.logLevel":           int64(0),
		"deployment.envs.tootles.logLevel":        int64(1),
		"deployment.envs.rufio.logLevel":          int64(2),
		"deployment.envs.tinkServer.logLevel":     int64(3),
		"deployment.envs.tinkController.logLevel": int64(9),
		"deployment.envs.globals.logLevel":        nil,
		// Rufio's level also as the variable the binary reads (the chart's name for it is read by no release).
		"deployment.additionalEnvs": []any{map[string]any{"name": "TINKERBELL_RUFIO_LOG_LEVEL", "value": "2"}},
	})

	for level, want := range map[int32]string{0: "info", 1: "debug", 5: "debug"} {
		legacy := newObj("0.6.2")
		legacy.Spec.Components = &kubetinkv1alpha1.Components{
			Smee:    &kubetinkv1alpha1.SmeeComponent{ComponentCommon: kubetinkv1alpha1.ComponentCommon{LogLevel: new(level)}},
			Tootles: &kubetinkv1alpha1.TootlesComponent{ComponentCommon: kubetinkv1alpha1.ComponentCommon{LogLevel: new(int32(0))}},
		}
		expect(t, mustGenerate(t, legacy, testFacts), map[string]any{"smee.logLevel": want, "hegel.logLevel": nil})
	}
}

func TestGenerateArtifactsPortEra(t *testing.T) {
	tests := []struct {
		version, url string
		want         map[string]any
	}{
		{"v0.19.0", "http://192.168.2.112:7173", map[string]any{"optional.hookos.port": int64(7173), "optional.osie": nil}},
		{"v0.22.1", "http://192.168.2.112:8080/", map[string]any{"optional.hookos.port": int64(8080), "optional.osie": nil}},
		{"v0.23.0", "http://192.168.2.112:8080", map[string]any{"optional.osie.port": int64(8080), "optional.hookos.port": nil}},
		{"v0.25.0", "http://192.168.2.112", map[string]any{"optional.osie.port": int64(80)}},
		{"0.6.2", "http://192.168.2.112:8080/hook", map[string]any{
			"smee.http.osieUrl.scheme": "http", "smee.http.osieUrl.host": "192.168.2.112",
			"smee.http.osieUrl.port": int64(8080), "smee.http.osieUrl.path": "/hook", "stack.hook.port": nil,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			obj := newObj(tt.version)
			obj.Spec.ArtifactsFileServer = kubetinkv1alpha1.HTTPURL(tt.url)
			v := mustGenerate(t, obj, testFacts)
			expect(t, v, tt.want)
			if !strings.HasPrefix(tt.version, "0.") {
				expect(t, v, map[string]any{"artifactsFileServer": tt.url})
			}
		})
	}
}

func TestGenerateAddresses(t *testing.T) {
	t.Run("public IP from the Service when spec.publicIP is empty", func(t *testing.T) {
		obj := newObj("v0.25.0")
		obj.Spec.PublicIP = ""
		obj.Spec.PublicIPFrom = &kubetinkv1alpha1.ServiceReference{Name: "vip"}
		expect(t, mustGenerate(t, obj, testFacts), map[string]any{"publicIP": "192.168.2.50"})
		expect(t, mustGenerate(t, obj, Facts{}), map[string]any{"publicIP": nil})
	})
	t.Run("spec.trustedProxies win over the Nodes' pod CIDRs and keep their order", func(t *testing.T) {
		obj := newObj("v0.25.0")
		obj.Spec.TrustedProxies = []kubetinkv1alpha1.CIDR{"10.96.0.0/12", "10.0.0.0/8"}
		expect(t, mustGenerate(t, obj, testFacts), map[string]any{"trustedProxies": []any{"10.96.0.0/12", "10.0.0.0/8"}})
	})
	t.Run("no trusted proxies at all leaves the chart default", func(t *testing.T) {
		expect(t, mustGenerate(t, newObj("v0.25.0"), Facts{NodePodCIDRs: []string{""}}), map[string]any{"trustedProxies": nil})
	})
	t.Run("legacy keys", func(t *testing.T) {
		expect(t, mustGenerate(t, newObj("0.6.2"), testFacts), map[string]any{
			"global.publicIP":       "192.168.2.111",
			"global.trustedProxies": []any{"10.244.0.0/24", "10.244.1.0/24"},
			"publicIP":              nil,
		})
	})
	if got := TrustedProxies(newObj("v0.25.0"), testFacts); strings.Join(got, ",") != "10.244.0.0/24,10.244.1.0/24" {
		t.Errorf("TrustedProxies = %v", got)
	}
	obj := newObj("v0.25.0")
	obj.Spec.PublicIP = ""
	if got := PublicIP(obj, testFacts); got != "192.168.2.50" {
		t.Errorf("PublicIP = %q", got)
	}
}

func TestGenerateRegistryMirror(t *testing.T) {
	obj := newObj("v0.22.1")
	obj.Spec.Registry = &kubetinkv1alpha1.RegistrySpec{Mirror: "mirror.local"}
	expect(t, mustGenerate(t, obj, testFacts), map[string]any{
		"deployment.image":            "mirror.local/tinkerbell/tinkerbell",
		"deployment.agentImage":       "mirror.local/tinkerbell/tink-agent",
		"deployment.init.image":       "mirror.local/jacobweinstock/relay-init:v0.1.0",
		"optional.hookos.image":       "mirror.local/library/nginx:1.27.2",
		"optional.hookos.scriptImage": "mirror.local/library/bash:5.2.37",
		"optional.kubevip.image":      "mirror.local/kube-vip/kube-vip:v1.0.0",
		"deployment.imageTag":         nil,
	})
	obj.Spec.Version = "v0.24.0"
	expect(t, mustGenerate(t, obj, testFacts), map[string]any{
		"optional.osie.image":      "mirror.local/library/nginx:1.29.5",
		"optional.hookos.image":    nil,
		"optional.captainos.image": "mirror.local/tinkerbell/captain/artifacts:v0.1.0",
	})
}

func TestGeneratePlacementOnlyOnEnabledAddons(t *testing.T) {
	obj := richObj(lookup(t, "v0.25.0"))
	obj.Spec.Addons.KubeVip.Enabled = new(false)
	obj.Spec.Addons.HookOS.Enabled = new(false)
	expect(t, mustGenerate(t, obj, testFacts), map[string]any{
		"deployment.nodeSelector":        map[string]any{"kubetink.io/provisioning-network": "true"},
		"optional.kubevip.nodeSelector":  nil,
		"optional.kubevip.tolerations":   nil,
		"optional.osie.nodeSelector":     nil,
		"optional.hookos.downloadURL":    nil,
		"optional.hookos.persistence":    nil,
		"optional.kubevip.additionalEnv": nil,
	})
}

func TestGenerateUserValues(t *testing.T) {
	obj := withValues(t, newObj("v0.25.0"), `
deployment:
  envs:
    smee:
      dhcpMode: proxy
      ipxeHttpScriptExtraKernelArgs: [console=ttyS0]
  nodeSelector: null
trustedProxies: [0.0.0.0/0]
optional:
  kubevip: {enabled: false}
`)
	obj.Spec.ValuesFrom = []kubetinkv1alpha1.ValuesReference{{Kind: "Secret", Name: "extra"}}
	v := mustGenerate(t, obj, testFacts)
	expect(t, v, map[string]any{
		"deployment.envs.smee.dhcpMode":                      "proxy",
		"deployment.envs.smee.dhcpEnabled":                   true,
		"deployment.envs.smee.ipxeHttpScriptExtraKernelArgs": []any{"console=ttyS0"},
		"deployment.envs.globals.enableSmee":                 true,
		"trustedProxies":                                     []any{"0.0.0.0/0"},
		"optional.kubevip.enabled":                           false,
		"optional.hookos.enabled":                            true,
	})
	if nodeSelector, ok := valueAt(v, "deployment.nodeSelector"); !ok || nodeSelector != nil {
		t.Errorf("a null in spec.values must be passed on (Helm deletes the key), got %v, %v", nodeSelector, ok)
	}
	raw, _ := json.Marshal(v)
	if strings.Contains(string(raw), "extra") {
		t.Errorf("spec.valuesFrom leaked into the values: %s", raw)
	}
}

func TestGenerateErrors(t *testing.T) {
	tests := []struct {
		name    string
		version string
		mutate  func(*kubetinkv1alpha1.Tinkerbell)
		facts   *Facts
		values  string
		wantErr string
	}{
		{name: "maxConcurrentReconciles before v0.23", version: "v0.22.1", mutate: func(o *kubetinkv1alpha1.Tinkerbell) {
			o.Spec.Components = &kubetinkv1alpha1.Components{Rufio: &kubetinkv1alpha1.RufioComponent{MaxConcurrentReconciles: new(int32(3))}}
		}, wantErr: "spec.components.rufio.maxConcurrentReconciles needs Tinkerbell v0.23.0"},
		{name: "maxConcurrentReconciles on the stack chart", version: "0.6.2", mutate: func(o *kubetinkv1alpha1.Tinkerbell) {
			o.Spec.Components = &kubetinkv1alpha1.Components{TinkController: &kubetinkv1alpha1.TinkControllerComponent{MaxConcurrentReconciles: new(int32(3))}}
		}, wantErr: "spec.components.tinkController.maxConcurrentReconciles"},
		{name: "bind interface on the stack chart", version: "0.6.2", mutate: func(o *kubetinkv1alpha1.Tinkerbell) {
			o.Spec.Components = &kubetinkv1alpha1.Components{Smee: &kubetinkv1alpha1.SmeeComponent{DHCP: &kubetinkv1alpha1.SmeeDHCP{BindInterface: "eth1"}}}
		}, wantErr: "spec.components.smee.dhcp.bindInterface"},
		{name: "Tootles log level on the stack chart", version: "0.6.2", mutate: func(o *kubetinkv1alpha1.Tinkerbell) {
			o.Spec.Components = &kubetinkv1alpha1.Components{Tootles: &kubetinkv1alpha1.TootlesComponent{ComponentCommon: kubetinkv1alpha1.ComponentCommon{LogLevel: new(int32(1))}}}
		}, wantErr: "spec.components.tootles.logLevel"},
		{name: "stack chart without a public IP", version: "0.6.2", mutate: func(o *kubetinkv1alpha1.Tinkerbell) { o.Spec.PublicIP = "" },
			facts: &Facts{}, wantErr: "spec.publicIP (or spec.publicIPFrom) is required"},
		{name: "HookOS without an artifacts file server", version: "v0.25.0", mutate: func(o *kubetinkv1alpha1.Tinkerbell) { o.Spec.ArtifactsFileServer = "" },
			wantErr: "spec.artifactsFileServer is required"},
		{name: "HookOS over https", version: "v0.25.0", mutate: func(o *kubetinkv1alpha1.Tinkerbell) { o.Spec.ArtifactsFileServer = "https://files.example.com" },
			wantErr: "spec.artifactsFileServer: the HookOS file server"},
		{name: "HookOS under a path", version: "v0.23.0", mutate: func(o *kubetinkv1alpha1.Tinkerbell) { o.Spec.ArtifactsFileServer = "http://10.0.0.2:7173/hook" },
			wantErr: "serves its files at the root"},
		{name: "bad artifacts URL", version: "v0.25.0", mutate: func(o *kubetinkv1alpha1.Tinkerbell) { o.Spec.ArtifactsFileServer = "ftp://x" },
			wantErr: "spec.artifactsFileServer"},
		{name: "bad public IP", version: "v0.25.0", mutate: func(o *kubetinkv1alpha1.Tinkerbell) { o.Spec.PublicIP = "fd00::1" },
			wantErr: "spec.publicIP"},
		{name: "public IP twice", version: "v0.25.0", mutate: func(o *kubetinkv1alpha1.Tinkerbell) {
			o.Spec.PublicIPFrom = &kubetinkv1alpha1.ServiceReference{Name: "vip"}
		}, wantErr: "mutually exclusive"},
		{name: "bad LoadBalancer IP", version: "v0.25.0", mutate: func(o *kubetinkv1alpha1.Tinkerbell) { o.Spec.PublicIP = "" },
			facts: &Facts{LoadBalancerIP: "not-an-ip"}, wantErr: "spec.publicIPFrom"},
		{name: "bad node pod CIDR", version: "v0.25.0", facts: &Facts{NodePodCIDRs: []string{"10.0.0.0/33"}}, wantErr: "spec.trustedProxies"},
		{name: "bad trusted proxy", version: "v0.25.0", mutate: func(o *kubetinkv1alpha1.Tinkerbell) {
			o.Spec.TrustedProxies = []kubetinkv1alpha1.CIDR{"10.0.0.1"}
		}, wantErr: "spec.trustedProxies[0]"},
		{name: "everything off", version: "v0.25.0", mutate: func(o *kubetinkv1alpha1.Tinkerbell) {
			off := offObj("v0.25.0")
			off.Spec.Components.Smee.Enabled = new(false)
			o.Spec.Components = off.Spec.Components
		}, wantErr: "spec.components: at least one component"},
		{name: "bad mirror", version: "v0.25.0", mutate: func(o *kubetinkv1alpha1.Tinkerbell) {
			o.Spec.Registry = &kubetinkv1alpha1.RegistrySpec{Mirror: "https://mirror"}
		}, wantErr: "spec.registry.mirror"},
		{name: "bad DHCP mode", version: "v0.25.0", mutate: func(o *kubetinkv1alpha1.Tinkerbell) {
			o.Spec.Components = &kubetinkv1alpha1.Components{Smee: &kubetinkv1alpha1.SmeeComponent{DHCP: &kubetinkv1alpha1.SmeeDHCP{Mode: "relay"}}}
		}, wantErr: "spec.components.smee.dhcp.mode"},
		{name: "bad interface", version: "v0.25.0", mutate: func(o *kubetinkv1alpha1.Tinkerbell) {
			o.Spec.Addons = &kubetinkv1alpha1.Addons{KubeVip: &kubetinkv1alpha1.KubeVipAddon{Interface: "eth 0"}}
		}, wantErr: "spec.addons.kubeVip.interface"},
		{name: "values not an object", version: "v0.25.0", values: "[1, 2]", wantErr: "spec.values must be an object"},
		{name: "HookOS file server named by a host (v0.19.0)", version: "v0.19.0", mutate: func(o *kubetinkv1alpha1.Tinkerbell) {
			o.Spec.ArtifactsFileServer = "http://artifacts.example.com:7173"
		}, wantErr: "spec.artifactsFileServer: the HookOS file server the v0.19.0 chart runs"},
		{name: "HookOS file server named by a host (v0.25.0)", version: "v0.25.0", mutate: func(o *kubetinkv1alpha1.Tinkerbell) {
			o.Spec.ArtifactsFileServer = "http://artifacts.example.com:7173"
		}, wantErr: `"artifacts.example.com" names a host`},
		{name: "stack chart without trusted proxies", version: "0.6.2", facts: &Facts{}, wantErr: "spec.trustedProxies: the legacy stack chart 0.6.2 requires trusted proxies"},
		{name: "stack chart with Hegel only, without trusted proxies", version: "0.6.2", mutate: func(o *kubetinkv1alpha1.Tinkerbell) {
			o.Spec.Components = &kubetinkv1alpha1.Components{Smee: &kubetinkv1alpha1.SmeeComponent{ComponentCommon: kubetinkv1alpha1.ComponentCommon{Enabled: new(false)}}}
		}, facts: &Facts{}, wantErr: "requires trusted proxies"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := newObj(tt.version)
			if tt.mutate != nil {
				tt.mutate(obj)
			}
			if tt.values != "" {
				withValues(t, obj, tt.values)
			}
			facts := testFacts
			if tt.facts != nil {
				facts = *tt.facts
			}
			_, err := Generate(lookup(t, tt.version), obj, facts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Generate error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestGenerateIsPureAndDeterministic(t *testing.T) {
	rel := lookup(t, "v0.25.0")
	obj := withValues(t, richObj(rel), `{"deployment": {"additionalEnvs": [{"name": "A", "value": "1"}]}}`)
	before := obj.DeepCopy()
	facts := Facts{NodePodCIDRs: []string{"10.244.2.0/24", "10.244.1.0/24"}}
	a, err := Generate(rel, obj, facts)
	if err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(a)
	// Change the output in place: nothing may reach the input or the next call.
	a["deployment"].(map[string]any)["nodeSelector"].(map[string]any)["x"] = "y"
	a["deployment"].(map[string]any)["additionalEnvs"].([]any)[0] = "changed"
	b, err := Generate(rel, obj, facts)
	if err != nil {
		t.Fatal(err)
	}
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Errorf("two calls differ:\n%s\n%s", ja, jb)
	}
	if !reflect.DeepEqual(before, obj) {
		t.Error("Generate changed its input")
	}
	if facts.NodePodCIDRs[0] != "10.244.2.0/24" {
		t.Error("Generate reordered the caller's facts")
	}
}

// TestGenerateStackTrustedProxiesFromElsewhere: the stack chart needs trusted proxies only for Smee and Hegel, and
// takes them from spec.values as well; spec.valuesFrom may hold them too, so it is not second-guessed.
func TestGenerateStackTrustedProxiesFromElsewhere(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*testing.T, *kubetinkv1alpha1.Tinkerbell)
	}{
		{name: "Smee and Tootles off", mutate: func(_ *testing.T, o *kubetinkv1alpha1.Tinkerbell) {
			off := new(false)
			o.Spec.Components = &kubetinkv1alpha1.Components{
				Smee:    &kubetinkv1alpha1.SmeeComponent{ComponentCommon: kubetinkv1alpha1.ComponentCommon{Enabled: off}},
				Tootles: &kubetinkv1alpha1.TootlesComponent{ComponentCommon: kubetinkv1alpha1.ComponentCommon{Enabled: off}},
			}
		}},
		{name: "global.trustedProxies in spec.values", mutate: func(t *testing.T, o *kubetinkv1alpha1.Tinkerbell) {
			t.Helper()
			withValues(t, o, `{"global": {"trustedProxies": ["10.0.0.0/8"]}}`)
		}},
		{name: "per subchart in spec.values", mutate: func(t *testing.T, o *kubetinkv1alpha1.Tinkerbell) {
			t.Helper()
			withValues(t, o, `{"smee": {"trustedProxies": ["10.0.0.0/8"]}, "hegel": {"trustedProxies": ["10.0.0.0/8"]}}`)
		}},
		{name: "spec.valuesFrom", mutate: func(_ *testing.T, o *kubetinkv1alpha1.Tinkerbell) {
			o.Spec.ValuesFrom = []kubetinkv1alpha1.ValuesReference{{Kind: "ConfigMap", Name: "site-values"}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := newObj("0.6.2")
			tt.mutate(t, obj)
			if _, err := Generate(lookup(t, "0.6.2"), obj, Facts{}); err != nil {
				t.Fatalf("Generate: %v", err)
			}
		})
	}
}

// TestGenerateArtifactsHostName: a host name for the artifacts file server is fine wherever the chart does not
// need its IP: HookOS off, the Service's IP given in spec.values (the key of each era), the file server on the
// host network or behind another Service type, or spec.valuesFrom, which may give the IP.
func TestGenerateArtifactsHostName(t *testing.T) {
	tests := []struct {
		name, version, values string
		mutate                func(*kubetinkv1alpha1.Tinkerbell)
	}{
		{name: "HookOS off", version: "v0.25.0", mutate: func(o *kubetinkv1alpha1.Tinkerbell) {
			o.Spec.Addons = &kubetinkv1alpha1.Addons{HookOS: &kubetinkv1alpha1.HookOSAddon{Enabled: new(false)}}
		}},
		{name: "optional.hookos IP, v0.19.0", version: "v0.19.0", values: `{"optional": {"hookos": {"service": {"loadBalancerIP": "10.0.0.9"}}}}`},
		{name: "optional.hookos IP, v0.25.0", version: "v0.25.0", values: `{"optional": {"hookos": {"service": {"loadBalancerIP": "10.0.0.9"}}}}`},
		{name: "optional.osie IP, v0.23.0", version: "v0.23.0", values: `{"optional": {"osie": {"service": {"loadBalancerIP": "10.0.0.9"}}}}`},
		{name: "host network, v0.22.1", version: "v0.22.1", values: `{"optional": {"hookos": {"hostNetwork": true}}}`},
		{name: "NodePort, v0.25.0", version: "v0.25.0", values: `{"optional": {"osie": {"service": {"type": "NodePort"}}}}`},
		{name: "spec.valuesFrom", version: "v0.25.0", mutate: func(o *kubetinkv1alpha1.Tinkerbell) {
			o.Spec.ValuesFrom = []kubetinkv1alpha1.ValuesReference{{Kind: "ConfigMap", Name: "site-values"}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := newObj(tt.version)
			obj.Spec.ArtifactsFileServer = "http://artifacts.example.com:7173"
			if tt.mutate != nil {
				tt.mutate(obj)
			}
			if tt.values != "" {
				withValues(t, obj, tt.values)
			}
			if _, err := Generate(lookup(t, tt.version), obj, testFacts); err != nil {
				t.Fatalf("Generate: %v", err)
			}
		})
	}
}

// TestGenerateResources: the unified charts get exactly the resources of the spec (null for what it leaves out,
// so that Helm drops the chart's default limits); the stack chart, whose subcharts read each limit, keeps its
// defaults for what the spec leaves out.
func TestGenerateResources(t *testing.T) {
	requestsOnly := &corev1.ResourceRequirements{Requests: corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("600m"), corev1.ResourceMemory: resource.MustParse("200Mi"),
	}}
	memoryLimit := &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}}

	obj := newObj("v0.25.0")
	obj.Spec.Deployment = &kubetinkv1alpha1.DeploymentSpec{Resources: requestsOnly}
	expect(t, mustGenerate(t, obj, testFacts), map[string]any{
		"deployment.resources": map[string]any{"limits": nil, "requests": map[string]any{"cpu": "600m", "memory": "200Mi"}},
	})
	obj.Spec.Deployment.Resources = memoryLimit
	expect(t, mustGenerate(t, obj, testFacts), map[string]any{
		"deployment.resources": map[string]any{"limits": map[string]any{"cpu": nil, "memory": "1Gi"}, "requests": nil},
	})

	legacy := newObj("0.6.2")
	legacy.Spec.Deployment = &kubetinkv1alpha1.DeploymentSpec{Resources: requestsOnly}
	expect(t, mustGenerate(t, legacy, testFacts), map[string]any{
		"smee.resources": map[string]any{"requests": map[string]any{"cpu": "600m", "memory": "200Mi"}},
	})
}

// TestGenerateSiteScope checks what keeps a namespaced site to its target namespace on every catalog release, and
// that a stack serving every namespace keeps the chart's defaults.
func TestGenerateSiteScope(t *testing.T) {
	for _, rel := range catalog.Releases() {
		t.Run(rel.Version, func(t *testing.T) {
			obj := newObj(rel.Version)
			obj.Spec.TargetNamespace = "site-a"
			names := map[string]any{
				"kubevip.roleName":                                   "kube-vip-role-site-a",
				"kubevip.roleBindingName":                            "kube-vip-rolebinding-site-a",
				"persistence.localPersistentVolume.name":             "hook-artifacts-site-a",
				"persistence.localPersistentVolume.storageClassName": "local-storage-site-a",
			}
			want := map[string]any{}
			if rel.Legacy {
				for k, v := range names {
					want["stack."+strings.Replace(k, "persistence.", "hook.persistence.", 1)] = v
				}
				// stack 0.6.2 mounts a claim named after the volume but names its claim hook-artifacts.
				want["stack.hook.persistence.localPersistentVolume.name"] = nil
				want["global.rbac.type"] = nil // the chart's default Role: namespaced
				expect(t, mustGenerate(t, obj, testFacts), want)

				obj.Spec.Scope = kubetinkv1alpha1.ScopeCluster
				if _, err := Generate(rel, obj, testFacts); err == nil || !strings.Contains(err.Error(), "spec.scope Cluster") {
					t.Errorf("scope Cluster on the legacy stack: got %v, want a refusal naming spec.scope", err)
				}
				return
			}
			// Unset: the chart's defaults, every namespace.
			expect(t, mustGenerate(t, obj, testFacts), map[string]any{
				"rbac.type": nil,
				"deployment.envs.globals.backendKubeNamespace":           nil,
				"optional.kubevip.roleName":                              nil,
				"optional.hookos.persistence.localPersistentVolume.name": nil,
			})
			obj.Spec.Scope = kubetinkv1alpha1.ScopeNamespace
			// The primary site: the Tink controller and Rufio, which watch every namespace, with a ClusterRole of
			// its own.
			want = map[string]any{
				"rbac.type": nil,
				"rbac.name": "tinkerbell-site-a",
				"deployment.envs.globals.backendKubeNamespace":           "site-a",
				"deployment.envs.globals.enableTinkController":           true,
				"deployment.envs.globals.enableRufioController":          true,
				"deployment.envs.rufio.leaderElectionNamespace":          "site-a",
				"deployment.envs.tinkController.leaderElectionNamespace": "site-a",
			}
			for k, v := range names {
				want["optional."+strings.Replace(k, "persistence.", "hookos.persistence.", 1)] = v
			}
			volume := "hook-artifacts-site-a"
			if rel.FixedHookOSClaim() {
				volume = "" // the chart's claim keeps its name: so does the volume
				want["optional.hookos.persistence.localPersistentVolume.name"] = nil
			}
			expect(t, mustGenerate(t, obj, testFacts), want)
			// Another site: namespaced RBAC, and neither controller.
			other := testFacts
			other.PrimarySite = "kubetink-system/primary"
			expect(t, mustGenerate(t, obj, other), map[string]any{
				"rbac.type": "Role",
				"rbac.name": nil,
				"deployment.envs.globals.backendKubeNamespace":  "site-a",
				"deployment.envs.globals.enableTinkController":  false,
				"deployment.envs.globals.enableRufioController": false,
				"optional.kubevip.roleName":                     "kube-vip-role-site-a",
			})

			// A StorageClass the user names is kept; an existing claim creates no volume; add-ons off name nothing.
			obj.Spec.Addons = &kubetinkv1alpha1.Addons{HookOS: &kubetinkv1alpha1.HookOSAddon{Persistence: &kubetinkv1alpha1.HookOSPersistence{
				LocalPersistentVolume: &kubetinkv1alpha1.LocalPersistentVolume{Path: "/srv/hook", StorageClassName: "fast"},
			}}}
			named := map[string]any{"optional.hookos.persistence.localPersistentVolume.storageClassName": "fast"}
			if volume != "" {
				named["optional.hookos.persistence.localPersistentVolume.name"] = volume
			}
			expect(t, mustGenerate(t, obj, testFacts), named)
			obj.Spec.Addons.HookOS.Persistence = &kubetinkv1alpha1.HookOSPersistence{ExistingClaim: "artifacts"}
			expect(t, mustGenerate(t, obj, testFacts), map[string]any{"optional.hookos.persistence.localPersistentVolume.name": nil})
			off := false
			obj.Spec.Addons = &kubetinkv1alpha1.Addons{KubeVip: &kubetinkv1alpha1.KubeVipAddon{Enabled: &off}}
			expect(t, mustGenerate(t, obj, testFacts), map[string]any{"optional.kubevip.roleName": nil})
		})
	}
}
