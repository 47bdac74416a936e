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

// releases is the catalog. Image defaults and ports are those of each release's values.yaml (the data files are
// in internal/values/testdata/upstream, and a test there checks the images against them).
var releases = []Release{
	stack062(),
	unified("v0.19.0", EraV019),
	unified("v0.19.1", EraV019),
	unified("v0.19.2", EraV019),
	unified("v0.19.3", EraV019),
	unified("v0.20.0", EraV020),
	unified("v0.20.1", EraV020),
	unified("v0.21.0", EraV021),
	unified("v0.22.0", EraV022),
	unified("v0.22.1", EraV022),
	unified("v0.23.0", EraV023),
	unified("v0.24.0", EraV024),
	unified("v0.25.0", EraV025),
}

// stack062 is the legacy stack chart 0.6.2 (tink 0.3.0, smee 0.6.2, rufio 0.4.0, hegel 0.4.1 subcharts).
func stack062() Release {
	return Release{
		Version:      "0.6.2",
		Legacy:       true,
		ChartURL:     StackChartURL,
		ChartVersion: "0.6.2",
		CRDs: CRDSource{
			URL:   ChartsRepoURL,
			Tag:   "v0.6.2",
			Paths: []string{"tinkerbell/tink/crds", "tinkerbell/rufio/crds"},
		},
		Era: EraStack06,
		Images: []Image{
			{Name: ImageNginx, Repository: "nginx", Tag: "1.27.2"},
			{Name: ImageHookDownload, Repository: "bash", Tag: "5.2.37"},
			{Name: ImageKubeVip, Repository: "ghcr.io/kube-vip/kube-vip", Tag: "v0.8.7"},
			{Name: ImageDHCPRelay, Repository: "ghcr.io/jacobweinstock/dhcprelay"},
			{Name: ImageRelayInit, Repository: "ghcr.io/jacobweinstock/relay-init", Tag: "v0.1.0"},
			{Name: ImageSmee, Repository: "quay.io/tinkerbell/smee", Tag: "v0.15.1"},
			{Name: ImageTinkWorker, Repository: "quay.io/tinkerbell/tink-worker", Tag: "v0.12.1"},
			{Name: ImageHegel, Repository: "quay.io/tinkerbell/hegel", Tag: "v0.14.2"},
			{Name: ImageRufio, Repository: "quay.io/tinkerbell/rufio", Tag: "v0.6.1"},
			{Name: ImageTinkController, Repository: "quay.io/tinkerbell/tink-controller", Tag: "v0.12.1"},
			{Name: ImageTinkServer, Repository: "quay.io/tinkerbell/tink", Tag: "v0.12.1"},
		},
		// Every service sits behind the tink-stack nginx on the one public IP.
		Ports: Ports{SmeeHTTP: 7171, TootlesHTTP: 50061, TinkServerGRPC: 42113, ArtifactsHTTP: 8080},
	}
}

// unified is a release of the unified tinkerbell chart; everything that differs between releases follows from
// the era.
func unified(version string, era Era) Release {
	r := Release{
		Version:      version,
		ChartURL:     UnifiedChartURL,
		ChartVersion: version,
		CRDs:         CRDSource{URL: TinkerbellRepoURL, Tag: version, Paths: []string{"crd/bases"}},
		Era:          era,
		Images: []Image{
			{Name: ImageTinkerbell, Repository: "ghcr.io/tinkerbell/tinkerbell", Tag: version},
			{Name: ImageTinkAgent, Repository: "ghcr.io/tinkerbell/tink-agent", Tag: version},
			{Name: ImageRelayInit, Repository: "ghcr.io/jacobweinstock/relay-init", Tag: "v0.1.0"},
			{Name: ImageNginx, Repository: "nginx", Tag: "1.27.2"},
			{Name: ImageHookDownload, Repository: "bash", Tag: "5.2.37"},
			{Name: ImageKubeVip, Repository: "ghcr.io/kube-vip/kube-vip", Tag: "v0.9.1"},
		},
		Ports: Ports{SmeeHTTP: 7171, TootlesHTTP: 7172, TinkServerGRPC: 42113, ArtifactsHTTP: 7173},
	}
	if Compare(version, "v0.22.0") >= 0 {
		r.setImageTag(ImageKubeVip, "v1.0.0")
		r.Ports.HTTPS = 7272
	}
	if Compare(version, "v0.23.0") >= 0 {
		// PR #573: one HTTP server for Smee, Tootles and the UI, one HTTPS port.
		r.Ports = Ports{SmeeHTTP: 7080, TootlesHTTP: 7080, TinkServerGRPC: 42113, HTTPS: 7443, ArtifactsHTTP: 7173}
		r.setImageTag(ImageNginx, "1.29.5")
		r.Images = append(r.Images, Image{Name: ImageCaptainOS, Repository: "ghcr.io/tinkerbell/captain/artifacts", Tag: "v0.1.0"})
	}
	if Compare(version, "v0.24.0") >= 0 {
		// v0.24 adds v1alpha2 CRDs under crd/bases/v1alpha2 with the same names; only v1alpha1 is served.
		r.CRDs.Paths = []string{"crd/bases/v1alpha1"}
	}
	return r
}

func (r *Release) setImageTag(name, tag string) {
	for i := range r.Images {
		if r.Images[i].Name == name {
			r.Images[i].Tag = tag
		}
	}
}
