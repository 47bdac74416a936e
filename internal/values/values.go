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

// Package values turns a Tinkerbell spec into the Helm values of the chart of its release. It is pure: the facts
// it needs from the cluster (node pod CIDRs, a LoadBalancer IP) are passed in.
//
// Each chart era has its own layout (see catalog.Era). Every key generated here exists in that release's
// upstream values.yaml, which a test checks for every catalog release; the user's spec.values are merged last
// and are not checked.
package values

import (
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/catalog"
)

// Facts are what Generate needs to know about the cluster.
type Facts struct {
	// NodePodCIDRs are the spec.podCIDRs of the cluster's Nodes; they become the trusted proxies when
	// spec.trustedProxies is empty.
	NodePodCIDRs []string
	// LoadBalancerIP is the IP resolved from spec.publicIPFrom; used when spec.publicIP is empty.
	LoadBalancerIP string
	// PrimarySite is the namespace/name of the cluster's primary site when it is another Tinkerbell
	// (sites.Primary): that one applies the CRDs and, on the unified chart, runs the Tink controller and Rufio for
	// every site, so this one renders no CRD objects and runs neither controller. The CRDs stay Kubetink's either
	// way, so the binary's own CRD migration stays off.
	PrimarySite string
	// ArgoCDNamespace is the namespace the Argo CD Applications go to when the cluster admin pinned one (the
	// manager's --argocd-namespace; policy.Settings.ArgoCDNamespaceFor); empty means spec.argoCD.namespace or its
	// default. The values do not depend on it.
	ArgoCDNamespace string
}

// Generate returns the Helm values for rel's chart: the values Kubetink derives from the spec and the facts,
// with spec.values deep-merged over them. spec.valuesFrom is not read: the GitOps engine resolves it. The result
// holds only JSON types (map[string]any, []any, string, bool, int64, float64, nil) and shares nothing with obj.
// An error names the spec field that cannot be honoured for this release.
func Generate(rel catalog.Release, obj *kubetinkv1alpha1.Tinkerbell, facts Facts) (map[string]any, error) {
	t, err := generate(rel, obj, facts)
	if err != nil {
		return nil, err
	}
	if obj.Spec.Values != nil {
		user, err := userValues(obj.Spec.Values.Raw)
		if err != nil {
			return nil, err
		}
		mergeValues(t.root, user)
	}
	// Refuse what the chart would refuse at install time. spec.valuesFrom is not read here and may supply what
	// is missing, so a Tinkerbell that has it is left to the chart.
	if len(obj.Spec.ValuesFrom) == 0 {
		check := checkFileServerIP
		if rel.Legacy {
			check = checkStackTrustedProxies
		}
		if err := check(rel, t.root); err != nil {
			return nil, err
		}
	}
	return t.root, nil
}

// checkFileServerIP refuses an artifacts file server named by a host name while the chart's own HookOS file
// server runs behind a LoadBalancer Service: every unified chart gives that Service the IP of
// artifactsFileServer's host when it is an IPv4 address and otherwise requires one in the values, failing the
// install without ("no load balancer IP specified"; templates/hookos/service.yaml v0.19.0-v0.22.1,
// optional.hookos.*; templates/osie/service.yaml v0.23.0-v0.25.0, optional.osie.* with optional.hookos.* still
// taking precedence, and CaptainOS served alike).
func checkFileServerIP(rel catalog.Release, root map[string]any) error {
	// The first of these that holds a setting decides it.
	blocks := []string{"optional.hookos."}
	served, _ := valueAt(root, "optional.hookos.enabled")
	if catalog.Compare(rel.Version, "v0.23.0") >= 0 {
		blocks = append(blocks, "optional.osie.")
		if captainOS, _ := valueAt(root, "optional.captainos.enabled"); captainOS == true {
			served = true
		}
	}
	pick := func(key string) any {
		for _, b := range blocks {
			if v, _ := valueAt(root, b+key); v != nil {
				return v
			}
		}
		return nil
	}
	raw, _ := root["artifactsFileServer"].(string)
	u, err := url.Parse(raw)
	if served != true || raw == "" || err != nil || isIPv4(u.Hostname()) {
		return nil
	}
	hostNetwork, _ := pick("hostNetwork").(bool)
	serviceType, _ := pick("service.type").(string)
	ip, _ := pick("service.loadBalancerIP").(string)
	if hostNetwork || (serviceType != "" && serviceType != "LoadBalancer") || ip != "" {
		return nil
	}
	return fmt.Errorf("spec.artifactsFileServer: the HookOS file server the %s chart runs is reached at the artifacts "+
		"file server's address, and its LoadBalancer Service needs an IPv4 address: %q names a host. Use an IPv4 "+
		"address, set optional.hookos.service.loadBalancerIP in spec.values, or turn spec.addons.hookOS off and serve "+
		"the artifacts elsewhere", rel.Version, u.Hostname())
}

// checkStackTrustedProxies refuses what the legacy stack chart would refuse at install time: its smee and hegel
// subcharts require trusted proxies (stack 0.6.2, charts/smee and charts/hegel templates/deployment.yaml:
// required "missing trustedProxies", from <subchart>.trustedProxies or global.trustedProxies). Kubetink has none
// when spec.trustedProxies is empty and the Nodes have no pod CIDR, which some network plugins leave unset.
// spec.values may supply them; spec.valuesFrom is not read here, so its caller skips the check.
func checkStackTrustedProxies(rel catalog.Release, root map[string]any) error {
	at := func(path string) any { v, _ := valueAt(root, path); return v }
	for _, sub := range []string{"smee", "hegel"} {
		if at(sub+".deploy") != true || nonEmptyList(at(sub+".trustedProxies")) || nonEmptyList(at("global.trustedProxies")) {
			continue
		}
		return fmt.Errorf("spec.trustedProxies: the legacy stack chart %s requires trusted proxies for Smee and Hegel, "+
			"and none are known: set spec.trustedProxies, or give the Nodes a spec.podCIDR", rel.Version)
	}
	return nil
}

func nonEmptyList(v any) bool {
	l, ok := v.([]any)
	return ok && len(l) > 0
}

// generate builds the values Kubetink owns, without spec.values.
func generate(rel catalog.Release, obj *kubetinkv1alpha1.Tinkerbell, facts Facts) (*tree, error) {
	if obj == nil {
		return nil, fmt.Errorf("no Tinkerbell object")
	}
	if err := validate(rel, obj); err != nil {
		return nil, err
	}
	publicIP, err := resolvePublicIP(obj, facts)
	if err != nil {
		return nil, err
	}
	proxies, err := resolveTrustedProxies(obj, facts)
	if err != nil {
		return nil, err
	}
	t := newTree()
	if rel.Legacy {
		err = generateStack(t, rel, obj, publicIP, proxies)
	} else {
		err = generateUnified(t, rel, obj, publicIP, proxies, facts.PrimarySite == "")
	}
	if err != nil {
		return nil, err
	}
	return t, nil
}

// PublicIP returns the public IP Generate uses: spec.publicIP, else the LoadBalancer IP resolved from
// spec.publicIPFrom, else "".
func PublicIP(obj *kubetinkv1alpha1.Tinkerbell, facts Facts) string {
	if obj.Spec.PublicIP != "" {
		return string(obj.Spec.PublicIP)
	}
	return facts.LoadBalancerIP
}

// TrustedProxies returns the trusted proxies Generate uses: spec.trustedProxies as given, else the Nodes' pod
// CIDRs sorted and de-duplicated. It returns nil when there are none.
func TrustedProxies(obj *kubetinkv1alpha1.Tinkerbell, facts Facts) []string {
	if len(obj.Spec.TrustedProxies) > 0 {
		out := make([]string, len(obj.Spec.TrustedProxies))
		for i, c := range obj.Spec.TrustedProxies {
			out[i] = string(c)
		}
		return out
	}
	var out []string
	for _, c := range facts.NodePodCIDRs {
		if c != "" {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func resolvePublicIP(obj *kubetinkv1alpha1.Tinkerbell, facts Facts) (string, error) {
	ip := PublicIP(obj, facts)
	if ip == "" || obj.Spec.PublicIP != "" {
		return ip, nil // spec.publicIP is checked by validate.
	}
	if !isIPv4(ip) {
		return "", fmt.Errorf("spec.publicIPFrom: the LoadBalancer IP %q is not an IPv4 address", ip)
	}
	return ip, nil
}

func resolveTrustedProxies(obj *kubetinkv1alpha1.Tinkerbell, facts Facts) ([]string, error) {
	proxies := TrustedProxies(obj, facts)
	if len(obj.Spec.TrustedProxies) == 0 {
		for _, c := range proxies {
			if _, err := netip.ParsePrefix(c); err != nil {
				return nil, fmt.Errorf("spec.trustedProxies is empty and the Node pod CIDR %q it would be derived from is not a CIDR", c)
			}
		}
	}
	return proxies, nil
}

// mirrorPattern is the pattern of spec.registry.mirror in the CRD.
var mirrorPattern = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?(:[0-9]{1,5})?(/[a-z0-9]+([._/-][a-z0-9]+)*)?$`)

// interfacePattern is the pattern of InterfaceName in the CRD.
var interfacePattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._@-]{0,14}$`)

// validate repeats the CRD's checks that matter for values, for input that did not come through the API server
// (kubetink render), and adds the release-specific ones the CRD cannot know.
func validate(rel catalog.Release, obj *kubetinkv1alpha1.Tinkerbell) error {
	spec := &obj.Spec
	if spec.PublicIP != "" && !isIPv4(string(spec.PublicIP)) {
		return fmt.Errorf("spec.publicIP: %q is not an IPv4 address", spec.PublicIP)
	}
	if spec.PublicIP != "" && spec.PublicIPFrom != nil {
		return fmt.Errorf("spec.publicIP and spec.publicIPFrom are mutually exclusive")
	}
	for i, c := range spec.TrustedProxies {
		if _, err := netip.ParsePrefix(string(c)); err != nil {
			return fmt.Errorf("spec.trustedProxies[%d]: %q is not a CIDR such as 10.244.0.0/16", i, c)
		}
	}
	if spec.ArtifactsFileServer != "" {
		if _, err := parseHTTPURL(string(spec.ArtifactsFileServer)); err != nil {
			return fmt.Errorf("spec.artifactsFileServer: %w", err)
		}
	} else if !rel.Legacy && spec.Addons.HookOSEnabled() {
		return fmt.Errorf("spec.artifactsFileServer is required unless spec.addons.hookOS.enabled is false: machines download HookOS from it")
	}
	if err := validateComponents(spec.Components); err != nil {
		return err
	}
	if r := spec.Registry; r != nil && r.Mirror != "" && !mirrorPattern.MatchString(r.Mirror) {
		return fmt.Errorf("spec.registry.mirror: %q is not a registry host with an optional port and path, such as registry.example.com:5000/tinkerbell", r.Mirror)
	}
	if a := spec.Addons; a != nil {
		if a.KubeVip != nil {
			if err := validateInterface("spec.addons.kubeVip.interface", a.KubeVip.Interface); err != nil {
				return err
			}
		}
		if h := a.HookOS; h != nil {
			if h.DownloadURL != "" {
				if _, err := parseHTTPURL(string(h.DownloadURL)); err != nil {
					return fmt.Errorf("spec.addons.hookOS.downloadURL: %w", err)
				}
			}
			if p := h.Persistence; p != nil && p.ExistingClaim != "" && p.LocalPersistentVolume != nil {
				return fmt.Errorf("spec.addons.hookOS.persistence: existingClaim and localPersistentVolume are mutually exclusive")
			}
		}
	}
	return nil
}

func validateComponents(c *kubetinkv1alpha1.Components) error {
	if !slices.ContainsFunc(components, func(s component) bool { return s.common(c).IsEnabled() }) {
		return fmt.Errorf("spec.components: at least one component must be enabled")
	}
	if d := c.GetSmee().DHCP; d != nil {
		switch d.Mode {
		case "", kubetinkv1alpha1.DHCPModeReservation, kubetinkv1alpha1.DHCPModeProxy, kubetinkv1alpha1.DHCPModeAutoProxy:
		default:
			return fmt.Errorf("spec.components.smee.dhcp.mode: %q is not one of reservation, proxy, auto-proxy", d.Mode)
		}
		if err := validateInterface("spec.components.smee.dhcp.bindInterface", d.BindInterface); err != nil {
			return err
		}
		if err := validateInterface("spec.components.smee.dhcp.sourceInterface", d.SourceInterface); err != nil {
			return err
		}
	}
	for _, s := range components {
		if level := s.common(c).LogLevel; level != nil && (*level < 0 || *level > 9) {
			return fmt.Errorf("spec.components.%s.logLevel: %d is not between 0 and 9", s.field, *level)
		}
	}
	return nil
}

func validateInterface(field string, name kubetinkv1alpha1.InterfaceName) error {
	if name != "" && !interfacePattern.MatchString(string(name)) {
		return fmt.Errorf("%s: %q is not a network interface name such as eth0", field, name)
	}
	return nil
}

func isIPv4(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is4()
}

// parseHTTPURL parses an absolute http or https URL with a host.
func parseHTTPURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL", s)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return nil, fmt.Errorf("%q is not an absolute http:// or https:// URL", s)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.ParseUint(p, 10, 16); err != nil || n == 0 {
			return nil, fmt.Errorf("%q has an invalid port", s)
		}
	}
	return u, nil
}

// urlPort returns the port of u, or the default port of its scheme.
func urlPort(u *url.URL) int64 {
	if n, err := strconv.ParseInt(u.Port(), 10, 64); err == nil {
		return n
	}
	if u.Scheme == "https" {
		return 443
	}
	return 80
}
