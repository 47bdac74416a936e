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

// Package catalog lists the Tinkerbell releases Kubetink can install: for each one the Helm chart, the images
// it runs, where its CRDs live, its port layout and the era of its values layout. It is pure data plus lookups.
package catalog

import (
	"fmt"
	"slices"
	"strings"
)

// Era names a layout of the chart's values. Releases of one era take the same values keys; the values generator
// has one layout per era.
type Era string

const (
	// EraStack06 is the legacy "stack" umbrella chart 0.6.x with the smee, hegel, rufio and tink subcharts.
	EraStack06 Era = "stack-0.6"
	// EraV019 is the unified chart v0.19.x: deployment.additionalArgs, per-service ports 7171/7172, optional.hookos.*.
	EraV019 Era = "v0.19"
	// EraV020 is the unified chart v0.20.x: adds backendKubeQPS/Burst and iPXE MAC and arch mapping settings.
	EraV020 Era = "v0.20"
	// EraV021 is the unified chart v0.21.x: adds optional.kubevip.nodeSelector.
	EraV021 Era = "v0.21"
	// EraV022 is the unified chart v0.22.x: TLS, HTTPS port 7272, tolerations/affinity instead of
	// singleNodeClusterConfig, map-shaped reference rules.
	EraV022 Era = "v0.22"
	// EraV023 is the unified chart v0.23.x: one HTTP port 7080 and HTTPS port 7443 for Smee, Tootles and the UI,
	// optional.osie.* for the artifacts file server, optional.captainos.*.
	EraV023 Era = "v0.23"
	// EraV024 is the unified chart v0.24.x: adds service.enabled; CRDs move to crd/bases/v1alpha1.
	EraV024 Era = "v0.24"
	// EraV025 is the unified chart v0.25.x: list-shaped reference allow/deny rules, PXE over HTTP.
	EraV025 Era = "v0.25"
)

const (
	// UnifiedChartURL is the OCI repository of the unified tinkerbell chart (v0.17 and later).
	UnifiedChartURL = "oci://ghcr.io/tinkerbell/charts/tinkerbell"
	// StackChartURL is the OCI repository of the legacy stack chart (0.x, versions without a "v").
	StackChartURL = "oci://ghcr.io/tinkerbell/charts/stack"
	// TinkerbellRepoURL is the Git repository of the unified releases, which holds their CRDs.
	TinkerbellRepoURL = "https://github.com/tinkerbell/tinkerbell"
	// ChartsRepoURL is the Git repository of the legacy charts, which holds the stack chart's CRDs.
	ChartsRepoURL = "https://github.com/tinkerbell/charts"
)

// Names of the images a release runs, as used in Release.Images.
const (
	// ImageTinkerbell is the single Tinkerbell binary (unified chart).
	ImageTinkerbell = "tinkerbell"
	// ImageTinkAgent is the agent HookOS runs on machines (unified chart).
	ImageTinkAgent = "tink-agent"
	// ImageRelayInit is the init container that creates the macvlan/ipvlan interface for DHCP broadcasts.
	ImageRelayInit = "relay-init"
	// ImageDHCPRelay is the dhcrelay sidecar of the legacy stack chart.
	ImageDHCPRelay = "dhcprelay"
	// ImageNginx is the nginx that serves HookOS artifacts (and, on the legacy chart, proxies every service).
	ImageNginx = "nginx"
	// ImageHookDownload is the bash image whose script downloads HookOS.
	ImageHookDownload = "hook-download"
	// ImageKubeVip is kube-vip, which announces the LoadBalancer IPs.
	ImageKubeVip = "kube-vip"
	// ImageCaptainOS holds the CaptainOS artifacts (unified chart v0.23 and later).
	ImageCaptainOS = "captainos"
	// ImageSmee is the legacy Smee service.
	ImageSmee = "smee"
	// ImageTinkWorker is the legacy worker HookOS runs on machines.
	ImageTinkWorker = "tink-worker"
	// ImageHegel is the legacy metadata service (now Tootles).
	ImageHegel = "hegel"
	// ImageRufio is the legacy BMC controller.
	ImageRufio = "rufio"
	// ImageTinkController is the legacy workflow controller.
	ImageTinkController = "tink-controller"
	// ImageTinkServer is the legacy gRPC server.
	ImageTinkServer = "tink-server"
)

// Release is one supported Tinkerbell release.
type Release struct {
	// Version is the version as written in spec.version, such as "v0.25.0" or "0.6.2".
	Version string
	// Legacy is true for the legacy stack chart.
	Legacy bool
	// ChartURL is the OCI repository of the chart, without the tag.
	ChartURL string
	// ChartVersion is the OCI tag of the chart, such as "v0.25.0" or "0.6.2".
	ChartVersion string
	// CRDs says where the release's CRD manifests live.
	CRDs CRDSource
	// Era is the layout of the chart's values.
	Era Era
	// Images are the images the chart runs with its default values, in a fixed order.
	Images []Image
	// Ports is the port layout of the services.
	Ports Ports
}

// CRDSource is a Git repository and the directories in it that hold a release's CRD manifests.
type CRDSource struct {
	// URL of the Git repository.
	URL string
	// Tag to check out.
	Tag string
	// Paths are the directories holding the CRDs, relative to the repository root, without a leading "./".
	Paths []string
}

// Image is a container image as the chart's values.yaml names it by default.
type Image struct {
	// Name identifies the image within a release, one of the Image* constants.
	Name string
	// Repository is the image without its tag, such as ghcr.io/tinkerbell/tinkerbell or nginx.
	Repository string
	// Tag is the image tag; empty when the chart pins none (the unified chart's own images default to the
	// chart's appVersion, which is the release version).
	Tag string
}

// Ref returns the image reference repository[:tag].
func (i Image) Ref() string {
	if i.Tag == "" {
		return i.Repository
	}
	return i.Repository + ":" + i.Tag
}

// Ports is the port layout of a release's services. Templates and cloud-init configs embed these ports, which is
// why migrations between layouts rewrite them.
type Ports struct {
	// SmeeHTTP serves iPXE binaries and scripts.
	SmeeHTTP int32
	// TootlesHTTP serves instance metadata (Hegel on the legacy chart). Equal to SmeeHTTP from v0.23, where one
	// HTTP server serves Smee, Tootles and the UI.
	TootlesHTTP int32
	// TinkServerGRPC is the gRPC port Tink agents and workers talk to.
	TinkServerGRPC int32
	// HTTPS is the TLS port; 0 when the release has none.
	HTTPS int32
	// ArtifactsHTTP is the port of the HookOS artifacts file server.
	ArtifactsHTTP int32
}

// Image returns the release's image with the given name.
func (r Release) Image(name string) (Image, bool) {
	for _, img := range r.Images {
		if img.Name == name {
			return img, true
		}
	}
	return Image{}, false
}

// UnsupportedVersionError is returned by Lookup for a version that is not in the catalog.
type UnsupportedVersionError struct {
	// Version is the version asked for.
	Version string
	// Supported are the versions in the catalog, ascending.
	Supported []string
}

// Error lists the supported versions.
func (e *UnsupportedVersionError) Error() string {
	return fmt.Sprintf("unsupported Tinkerbell version %q: supported versions are %s",
		e.Version, strings.Join(e.Supported, ", "))
}

// Lookup returns the release with exactly this version, or an *UnsupportedVersionError.
func Lookup(version string) (Release, error) {
	for _, r := range releases {
		if r.Version == version {
			return r.clone(), nil
		}
	}
	return Release{}, &UnsupportedVersionError{Version: version, Supported: Supported()}
}

// Supported returns every version in the catalog, ascending by semver.
func Supported() []string {
	out := make([]string, 0, len(releases))
	for _, r := range releases {
		out = append(out, r.Version)
	}
	slices.SortFunc(out, Compare)
	return out
}

// Releases returns every release in the catalog, ascending by version.
func Releases() []Release {
	out := make([]Release, 0, len(releases))
	for _, r := range releases {
		out = append(out, r.clone())
	}
	slices.SortFunc(out, func(a, b Release) int { return Compare(a.Version, b.Version) })
	return out
}

// clone returns a copy that shares no slices with the catalog, so callers cannot change it.
func (r Release) clone() Release {
	r.Images = slices.Clone(r.Images)
	r.CRDs.Paths = slices.Clone(r.CRDs.Paths)
	return r
}

// FixedHookOSClaim reports whether the release's chart names the claim of its HookOS volume hook-artifacts
// whatever the values say, while its file server mounts the claim named after the volume: renaming the volume
// would leave the file server without its claim, so the volume keeps its name and only one site of a cluster can
// use it. True for stack 0.6.2 (templates/nginx_pvc.yaml) and tinkerbell v0.19.0 and v0.19.1
// (templates/hookos/pvc.yaml; v0.19.2 names the claim after the volume).
func (r Release) FixedHookOSClaim() bool {
	return r.Legacy || Compare(r.Version, "v0.19.2") < 0
}
