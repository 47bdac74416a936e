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
	"net/url"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kubetink/kubetink/internal/catalog"
)

// equalValues compares API values semantically (quantities by value, nil and empty collections alike).
func equalValues(got, want any) bool {
	return equality.Semantic.DeepEqual(got, want)
}

// checkUnified checks the objects of the unified tinkerbell chart (v0.19.0 and later). The environment variables
// are those of templates/deployment.yml (v0.19.x-v0.22.0) and templates/deployment.yaml (v0.22.1 and later);
// every release checked here reads the same ones for the values Kubetink sets, with the maxConcurrentReconciles
// variables only from v0.23.0, where Kubetink starts writing them.
func (c *checker) checkUnified() {
	t, spec := c.t, &c.obj.Spec
	// The tinkerbell workload: a Deployment, or a DaemonSet with deployment.daemonSet.enabled; its container is
	// "tinkerbell" in every release.
	w, ok := c.workloadWith("tinkerbell")
	if !ok {
		t.Fatalf("%s: no Deployment or DaemonSet with a tinkerbell container", c.rel.Version)
	}
	ct, _ := findContainer(w.pod, "tinkerbell")
	e := env(ct)

	c.equal("the tinkerbell image", ct.Image, c.image(catalog.ImageTinkerbell))
	// The agent image reaches machines as a kernel argument (deployment.agentImage plus the appVersion).
	agent := "tink_worker_image=" + c.image(catalog.ImageTinkAgent)
	if args := strings.Fields(e["TINKERBELL_IPXE_HTTP_SCRIPT_EXTRA_KERNEL_ARGS"]); !slices.Contains(args, agent) {
		t.Errorf("%s: TINKERBELL_IPXE_HTTP_SCRIPT_EXTRA_KERNEL_ARGS %v lacks %s", c.rel.Version, args, agent)
	}

	// Addresses.
	c.equal("TINKERBELL_PUBLIC_IPV4", e["TINKERBELL_PUBLIC_IPV4"], c.res.PublicIP)
	proxies := strings.Join(c.res.TrustedProxies, ",")
	c.equal("TINKERBELL_TRUSTED_PROXIES", e["TINKERBELL_TRUSTED_PROXIES"], proxies)
	c.equal("TINKERBELL_IPXE_SCRIPT_TRUSTED_PROXIES", e["TINKERBELL_IPXE_SCRIPT_TRUSTED_PROXIES"], proxies)
	if spec.ArtifactsFileServer != "" {
		c.equal("TINKERBELL_IPXE_HTTP_SCRIPT_OSIE_URL", e["TINKERBELL_IPXE_HTTP_SCRIPT_OSIE_URL"], string(spec.ArtifactsFileServer))
	}

	// Services on or off, and the binary's CRD migrations off when Kubetink manages the CRDs.
	comp := spec.Components
	for name, on := range map[string]bool{
		"TINKERBELL_ENABLE_SMEE":             comp.GetSmee().IsEnabled(),
		"TINKERBELL_ENABLE_TOOTLES":          comp.GetTootles().IsEnabled(),
		"TINKERBELL_ENABLE_TINK_SERVER":      comp.GetTinkServer().IsEnabled(),
		"TINKERBELL_ENABLE_TINK_CONTROLLER":  comp.GetTinkController().IsEnabled(),
		"TINKERBELL_ENABLE_RUFIO_CONTROLLER": comp.GetRufio().IsEnabled(),
		"TINKERBELL_ENABLE_CRD_MIGRATIONS":   !c.obj.CRDsManaged(),
		"TINKERBELL_DHCP_ENABLED":            comp.GetSmee().DHCPEnabled(),
	} {
		c.equal(name, e[name], strconv.FormatBool(on))
	}
	smee := comp.GetSmee()
	if d := smee.DHCP; d != nil && d.Mode != "" {
		c.equal("TINKERBELL_DHCP_MODE", e["TINKERBELL_DHCP_MODE"], string(d.Mode))
	}
	if d := smee.DHCP; d != nil && d.BindInterface != "" {
		c.equal("TINKERBELL_DHCP_BIND_INTERFACE", e["TINKERBELL_DHCP_BIND_INTERFACE"], string(d.BindInterface))
	}
	for name, level := range map[string]*int32{
		"TINKERBELL_SMEE_LOG_LEVEL":            smee.LogLevel,
		"TINKERBELL_TOOTLES_LOG_LEVEL":         comp.GetTootles().LogLevel,
		"TINKERBELL_TINK_SERVER_LOG_LEVEL":     comp.GetTinkServer().LogLevel,
		"TINKERBELL_TINK_CONTROLLER_LOG_LEVEL": comp.GetTinkController().LogLevel,
		// The variable the binary reads (--rufio-log-level); the chart's TINKERBELL_RUFIO_CONTROLLER_LOG_LEVEL is read by
		// no release (v0.19.0-v0.25.0).
		"TINKERBELL_RUFIO_LOG_LEVEL": comp.GetRufio().LogLevel,
	} {
		if level != nil {
			c.equal(name, e[name], strconv.Itoa(int(*level)))
		}
	}
	for name, n := range map[string]*int32{
		"TINKERBELL_RUFIO_MAX_CONCURRENT_RECONCILES":           comp.GetRufio().MaxConcurrentReconciles,
		"TINKERBELL_TINK_CONTROLLER_MAX_CONCURRENT_RECONCILES": comp.GetTinkController().MaxConcurrentReconciles,
	} {
		if n != nil {
			c.equal(name, e[name], strconv.Itoa(int(*n)))
		}
	}

	// The privileged init container that makes the DHCP broadcast interface runs only while Smee answers DHCP.
	initOn := smee.IsEnabled() && smee.DHCPEnabled()
	c.equal("an init container", len(w.pod.InitContainers) > 0, initOn)
	for _, ic := range w.pod.InitContainers {
		c.equal("the init container image", ic.Image, c.image(catalog.ImageRelayInit))
		if d := smee.DHCP; d != nil && d.SourceInterface != "" {
			// command: /script/host_interface.sh -s <sourceInterface> -t <interfaceMode>
			c.equal("the init container's source interface", argAfter(ic.Command, "-s"), string(d.SourceInterface))
		}
	}

	// Placement.
	if d := spec.Deployment; d != nil {
		if d.Replicas != nil && w.kind == "Deployment" {
			c.equal("the replicas", deref(w.replicas), *d.Replicas)
		}
		c.equal("the node selector", w.pod.NodeSelector, d.NodeSelector)
		c.equal("the tolerations", w.pod.Tolerations, d.Tolerations)
		c.equal("the affinity", w.pod.Affinity, d.Affinity)
		if d.Resources != nil {
			c.equal("the resources", ct.Resources, *d.Resources)
		}
	}

	c.checkUnifiedService(w)
	c.checkUnifiedKubeVip()
	c.checkUnifiedArtifacts(w.name)
}

// checkUnifiedService checks that the LoadBalancer Service in front of the tinkerbell workload (templates/service.yaml,
// selecting its pods by service.selector) asks for the public IP: loadBalancerIP is service.loadBalancerIP or
// publicIP in every release.
func (c *checker) checkUnifiedService(w workload) {
	var ips []string
	for _, s := range c.services() {
		if s.Spec.Type == corev1.ServiceTypeLoadBalancer && len(s.Spec.Selector) > 0 && selects(s.Spec.Selector, w.labels) {
			ips = append(ips, s.Spec.LoadBalancerIP)
		}
	}
	c.equal("the loadBalancerIP of the tinkerbell Service", ips, []string{c.res.PublicIP})
}

// selects reports whether a Service selector matches pod labels.
func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// checkKubeVip checks the kube-vip DaemonSet (unified: templates/kube-vip/daemonset.yaml; stack:
// templates/kubevip.yaml; container "kube-vip", interface in vip_interface, extra variables from additionalEnv) and,
// without kube-vip, that no Service asks for kube-vip's LoadBalancer class, which nothing would serve.
func (c *checker) checkKubeVip() (workload, bool) {
	t, a := c.t, c.obj.Spec.Addons
	w, ok := c.workloadWith("kube-vip")
	c.equal("kube-vip running", ok, a.KubeVipEnabled())
	if !a.KubeVipEnabled() {
		for _, s := range c.services() {
			if s.Spec.LoadBalancerClass != nil {
				t.Errorf("%s: kube-vip is off but Service %s asks for LoadBalancer class %s, which nothing serves", c.rel.Version, s.Name, *s.Spec.LoadBalancerClass)
			}
		}
	}
	if !ok {
		return w, false
	}
	ct, _ := findContainer(w.pod, "kube-vip")
	c.equal("the kube-vip image", ct.Image, c.image(catalog.ImageKubeVip))
	e := env(ct)
	if a != nil && a.KubeVip != nil {
		kv := a.KubeVip
		if kv.Interface != "" {
			c.equal("kube-vip's vip_interface", e["vip_interface"], string(kv.Interface))
		}
		if kv.LBClassOnly {
			c.equal("kube-vip's lb_class_only", e["lb_class_only"], "true")
		}
	}
	return w, true
}

// checkUnifiedKubeVip checks kube-vip on the unified chart, with the Tinkerbell placement.
func (c *checker) checkUnifiedKubeVip() {
	t := c.t
	w, ok := c.checkKubeVip()
	if !ok {
		return
	}
	// Kubetink gives kube-vip the Tinkerbell placement where the release's chart takes it: the node selector from
	// v0.21.0 (optional.kubevip.nodeSelector), the tolerations from v0.22.0 (optional.kubevip.tolerations).
	if d := c.obj.Spec.Deployment; d != nil {
		if catalog.Compare(c.rel.Version, "v0.21.0") >= 0 {
			c.equal("kube-vip's node selector", w.pod.NodeSelector, d.NodeSelector)
		}
		if catalog.Compare(c.rel.Version, "v0.22.0") >= 0 && len(d.Tolerations) > 0 {
			for _, tol := range d.Tolerations {
				if !slices.ContainsFunc(w.pod.Tolerations, func(x corev1.Toleration) bool { return tol.MatchToleration(&x) }) {
					t.Errorf("%s: kube-vip lacks the toleration %v", c.rel.Version, tol)
				}
			}
		}
	}
}

// checkUnifiedArtifacts checks the HookOS file server: templates/hookos/ up to v0.22.x (optional.hookos.*),
// templates/osie/ from v0.23.0 (optional.osie.*, with the deprecated optional.hookos.* keys taking precedence).
// It is the one Deployment besides the tinkerbell workload.
func (c *checker) checkUnifiedArtifacts(tinkerbell string) {
	t, spec := c.t, &c.obj.Spec
	var servers []workload
	for _, w := range c.workloads() {
		if w.kind == "Deployment" && w.name != tinkerbell {
			servers = append(servers, w)
		}
	}
	hookOS := spec.Addons.HookOSEnabled()
	c.equal("the number of HookOS file server Deployments", len(servers), map[bool]int{true: 1, false: 0}[hookOS])
	if !hookOS || len(servers) != 1 {
		return
	}
	w := servers[0]
	u, err := url.Parse(string(spec.ArtifactsFileServer))
	if err != nil {
		t.Fatal(err)
	}
	port := u.Port()
	if port == "" {
		port = "80"
	}
	var ports []string
	var images []string
	for _, ct := range w.pod.Containers {
		images = append(images, ct.Image)
		for _, p := range ct.Ports {
			ports = append(ports, strconv.Itoa(int(p.ContainerPort)))
		}
	}
	c.equal("the file server's container ports", ports, []string{port})
	if !slices.Contains(images, c.image(catalog.ImageNginx)) {
		t.Errorf("%s: the file server runs %v, not %s", c.rel.Version, images, c.image(catalog.ImageNginx))
	}
	var svcPorts []string
	for _, s := range c.services() {
		if s.Spec.Selector["app"] == w.pod.Containers[0].Name || s.Name == w.name {
			for _, p := range s.Spec.Ports {
				svcPorts = append(svcPorts, strconv.Itoa(int(p.Port)))
			}
		}
	}
	c.equal("the file server's Service ports", svcPorts, []string{port})

	dl, ok := findContainer(w.pod, "download-hook")
	if !ok {
		t.Errorf("%s: the file server has no download init container", c.rel.Version)
	} else {
		c.equal("the download image", dl.Image, c.image(catalog.ImageHookDownload))
		if h := c.hookOS(); h != nil && h.DownloadURL != "" {
			c.equal("the HookOS download URL", argAfter(dl.Args, "--url"), string(h.DownloadURL))
		}
	}
	if d := spec.Deployment; d != nil {
		c.equal("the file server's node selector", w.pod.NodeSelector, d.NodeSelector)
		// Tolerations from v0.22.0 (optional.hookos.tolerations, then optional.osie.tolerations).
		if catalog.Compare(c.rel.Version, "v0.22.0") >= 0 {
			c.equal("the file server's tolerations", w.pod.Tolerations, d.Tolerations)
		}
	}
	c.checkHookOSVolume(w)
}

// checkHookOSVolume checks where the file server keeps HookOS: the chart's node-local PersistentVolume, or an
// existing claim that replaces the chart's PersistentVolume, StorageClass and claim.
func (c *checker) checkHookOSVolume(w workload) {
	t, h := c.t, c.hookOS()
	if h == nil || h.Persistence == nil {
		return
	}
	if lpv := h.Persistence.LocalPersistentVolume; lpv != nil {
		c.checkLocalPV(lpv.Path, lpv.StorageClassName, lpv.Size)
	}
	if h.Persistence.ExistingClaim != "" {
		var claims []string
		for _, v := range w.pod.Volumes {
			if v.PersistentVolumeClaim != nil {
				claims = append(claims, v.PersistentVolumeClaim.ClaimName)
			}
		}
		c.equal("the file server's claims", claims, []string{h.Persistence.ExistingClaim})
		for _, o := range c.objs {
			if k := o.GetKind(); k == "PersistentVolume" || k == "StorageClass" || k == "PersistentVolumeClaim" {
				t.Errorf("%s: with an existing claim the chart still renders %s %s", c.rel.Version, k, o.GetName())
			}
		}
	}
}

// checkLocalPV checks the HookOS PersistentVolume: its path, StorageClass and size.
func (c *checker) checkLocalPV(path, storageClass string, size *resource.Quantity) {
	var pvs []corev1.PersistentVolume
	for _, o := range c.objs {
		if o.GetKind() == "PersistentVolume" {
			var pv corev1.PersistentVolume
			c.convert(o, &pv)
			pvs = append(pvs, pv)
		}
	}
	if len(pvs) != 1 {
		c.t.Errorf("%s: %d PersistentVolumes for HookOS, want 1", c.rel.Version, len(pvs))
		return
	}
	pv := pvs[0]
	got := ""
	switch {
	case pv.Spec.Local != nil:
		got = pv.Spec.Local.Path
	case pv.Spec.HostPath != nil:
		got = pv.Spec.HostPath.Path
	}
	c.equal("the HookOS volume path", got, path)
	if storageClass != "" {
		c.equal("the HookOS volume's StorageClass", pv.Spec.StorageClassName, storageClass)
	}
	if size != nil {
		c.equal("the HookOS volume size", pv.Spec.Capacity[corev1.ResourceStorage], *size)
	}
}

// argAfter returns the argument that follows flag in args, or "".
func argAfter(args []string, flag string) string {
	if i := slices.Index(args, flag); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}
