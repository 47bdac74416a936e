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

package catalog

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestSupported(t *testing.T) {
	want := []string{
		"0.6.2",
		"v0.19.0", "v0.19.1", "v0.19.2", "v0.19.3",
		"v0.20.0", "v0.20.1",
		"v0.21.0",
		"v0.22.0", "v0.22.1",
		"v0.23.0", "v0.24.0", "v0.25.0",
	}
	if got := Supported(); !slices.Equal(got, want) {
		t.Fatalf("Supported() = %v, want %v", got, want)
	}
	if !slices.IsSortedFunc(Supported(), Compare) {
		t.Fatal("Supported() is not sorted by Compare")
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		version      string
		wantLegacy   bool
		wantChart    string
		wantEra      Era
		wantCRDPaths []string
		wantKubeVip  string
		wantNginx    string
		wantPorts    Ports
	}{
		{
			version: "0.6.2", wantLegacy: true, wantChart: StackChartURL, wantEra: EraStack06,
			wantCRDPaths: []string{"tinkerbell/tink/crds", "tinkerbell/rufio/crds"},
			wantKubeVip:  "ghcr.io/kube-vip/kube-vip:v0.8.7", wantNginx: "nginx:1.27.2",
			wantPorts: Ports{SmeeHTTP: 7171, TootlesHTTP: 50061, TinkServerGRPC: 42113, ArtifactsHTTP: 8080},
		},
		{
			version: "v0.19.2", wantChart: UnifiedChartURL, wantEra: EraV019,
			wantCRDPaths: []string{"crd/bases"},
			wantKubeVip:  "ghcr.io/kube-vip/kube-vip:v0.9.1", wantNginx: "nginx:1.27.2",
			wantPorts: Ports{SmeeHTTP: 7171, TootlesHTTP: 7172, TinkServerGRPC: 42113, ArtifactsHTTP: 7173},
		},
		{
			version: "v0.22.1", wantChart: UnifiedChartURL, wantEra: EraV022,
			wantCRDPaths: []string{"crd/bases"},
			wantKubeVip:  "ghcr.io/kube-vip/kube-vip:v1.0.0", wantNginx: "nginx:1.27.2",
			wantPorts: Ports{SmeeHTTP: 7171, TootlesHTTP: 7172, TinkServerGRPC: 42113, HTTPS: 7272, ArtifactsHTTP: 7173},
		},
		{
			version: "v0.23.0", wantChart: UnifiedChartURL, wantEra: EraV023,
			wantCRDPaths: []string{"crd/bases"},
			wantKubeVip:  "ghcr.io/kube-vip/kube-vip:v1.0.0", wantNginx: "nginx:1.29.5",
			wantPorts: Ports{SmeeHTTP: 7080, TootlesHTTP: 7080, TinkServerGRPC: 42113, HTTPS: 7443, ArtifactsHTTP: 7173},
		},
		{
			version: "v0.24.0", wantChart: UnifiedChartURL, wantEra: EraV024,
			wantCRDPaths: []string{"crd/bases/v1alpha1"},
			wantKubeVip:  "ghcr.io/kube-vip/kube-vip:v1.0.0", wantNginx: "nginx:1.29.5",
			wantPorts: Ports{SmeeHTTP: 7080, TootlesHTTP: 7080, TinkServerGRPC: 42113, HTTPS: 7443, ArtifactsHTTP: 7173},
		},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			rel, err := Lookup(tt.version)
			if err != nil {
				t.Fatalf("Lookup(%q) error: %v", tt.version, err)
			}
			if rel.Version != tt.version || rel.ChartVersion != tt.version {
				t.Errorf("Version/ChartVersion = %q/%q, want %q", rel.Version, rel.ChartVersion, tt.version)
			}
			if rel.Legacy != tt.wantLegacy || rel.ChartURL != tt.wantChart || rel.Era != tt.wantEra {
				t.Errorf("Legacy/ChartURL/Era = %v/%q/%q, want %v/%q/%q",
					rel.Legacy, rel.ChartURL, rel.Era, tt.wantLegacy, tt.wantChart, tt.wantEra)
			}
			if !slices.Equal(rel.CRDs.Paths, tt.wantCRDPaths) {
				t.Errorf("CRDs.Paths = %v, want %v", rel.CRDs.Paths, tt.wantCRDPaths)
			}
			wantTag := tt.version
			if tt.wantLegacy {
				wantTag = "v" + tt.version
			}
			if rel.CRDs.Tag != wantTag {
				t.Errorf("CRDs.Tag = %q, want %q", rel.CRDs.Tag, wantTag)
			}
			if img, _ := rel.Image(ImageKubeVip); img.Ref() != tt.wantKubeVip {
				t.Errorf("kube-vip image = %q, want %q", img.Ref(), tt.wantKubeVip)
			}
			if img, _ := rel.Image(ImageNginx); img.Ref() != tt.wantNginx {
				t.Errorf("nginx image = %q, want %q", img.Ref(), tt.wantNginx)
			}
			if rel.Ports != tt.wantPorts {
				t.Errorf("Ports = %+v, want %+v", rel.Ports, tt.wantPorts)
			}
			if !tt.wantLegacy {
				if img, _ := rel.Image(ImageTinkerbell); img.Ref() != "ghcr.io/tinkerbell/tinkerbell:"+tt.version {
					t.Errorf("tinkerbell image = %q", img.Ref())
				}
			}
		})
	}
}

func TestLookupUnsupported(t *testing.T) {
	for _, v := range []string{"v0.18.3", "0.25.0", "v0.6.2", "v0.23.1-23da0880", "latest", ""} {
		t.Run(v, func(t *testing.T) {
			_, err := Lookup(v)
			var uve *UnsupportedVersionError
			if !errors.As(err, &uve) {
				t.Fatalf("Lookup(%q) error = %v, want *UnsupportedVersionError", v, err)
			}
			if uve.Version != v {
				t.Errorf("Version = %q, want %q", uve.Version, v)
			}
			for _, s := range Supported() {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("message %q does not list %s", err, s)
				}
			}
		})
	}
}

func TestLookupReturnsCopy(t *testing.T) {
	rel, err := Lookup("v0.25.0")
	if err != nil {
		t.Fatal(err)
	}
	rel.Images[0].Repository = "changed"
	rel.CRDs.Paths[0] = "changed"
	again, _ := Lookup("v0.25.0")
	if again.Images[0].Repository == "changed" || again.CRDs.Paths[0] == "changed" {
		t.Fatal("Lookup returned a release sharing slices with the catalog")
	}
}

func TestCompare(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"0.6.2", "v0.19.0", -1},
		{"v0.19.0", "0.6.2", 1},
		{"v0.19.0", "v0.19.0", 0},
		{"v0.19.0", "0.19.0", 0},
		{"v0.19.3", "v0.20.0", -1},
		{"v0.9.0", "v0.19.0", -1},
		{"v0.25.0", "v0.24.9", 1},
		{"v1.0.0", "v0.25.0", 1},
		{"v0.23.1-23da0880", "v0.23.1", -1},
		{"v0.23.1-23da0880", "v0.23.0", 1},
		{"v1.0.0-alpha", "v1.0.0-alpha.1", -1},
		{"v1.0.0-alpha.1", "v1.0.0-alpha.beta", -1},
		{"v1.0.0-2", "v1.0.0-11", -1},
		{"v1.0.0+build.1", "v1.0.0", 0},
		{"garbage", "v0.19.0", -1},
		{"v0.19.0", "garbage", 1},
		{"a", "b", -1},
		{"v0.19", "v0.19.0", -1},
		{"v0.19.0-", "v0.19.0", -1},
	}
	for _, tt := range tests {
		if got := Compare(tt.a, tt.b); got != tt.want {
			t.Errorf("Compare(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := Compare(tt.b, tt.a); got != -tt.want {
			t.Errorf("Compare(%q, %q) = %d, want %d (antisymmetry)", tt.b, tt.a, got, -tt.want)
		}
	}
}

func TestReleasesConsistent(t *testing.T) {
	for _, rel := range Releases() {
		if rel.Legacy != strings.HasPrefix(rel.Version, "0.") {
			t.Errorf("%s: Legacy = %v disagrees with the version form", rel.Version, rel.Legacy)
		}
		if rel.CRDs.URL == "" || rel.CRDs.Tag == "" || len(rel.CRDs.Paths) == 0 {
			t.Errorf("%s: incomplete CRD source %+v", rel.Version, rel.CRDs)
		}
		seen := map[string]bool{}
		for _, img := range rel.Images {
			if seen[img.Name] {
				t.Errorf("%s: image %s listed twice", rel.Version, img.Name)
			}
			seen[img.Name] = true
		}
	}
}
