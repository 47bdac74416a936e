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

package localenv

// Everything the kubelet stand-in changes in a container it runs as a local process is in this file. Only bind
// addresses, ports and what a Pod gets from the cluster (its ServiceAccount credentials, its namespace) are
// overridden, each for the reason given beside it; everything else comes from the Pod unchanged, since the tests
// assert that what Kubetink generates (public IP, trusted proxies, OSIE URL, ...) reaches the process.

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

const (
	// loopbackIP is where every process of the stack listens, and the host and Pod IP the kubelet stand-in reports
	// for every Pod: it runs containers as processes on this host, which has no Pod network, so all of them share
	// the host's loopback.
	loopbackIP = "127.0.0.1"
	// TinkerbellRepository is the image repository of the unified Tinkerbell binary (Smee, Tootles, Tink server and
	// controller, Rufio, SecondStar and the UI in one process), configured by TINKERBELL_* environment variables.
	TinkerbellRepository = "ghcr.io/tinkerbell/tinkerbell"
	// TinkerbellHTTPPort is the unified binary's HTTP port (chart service.ports.http from v0.23.0): Smee's iPXE
	// scripts, Tootles, the UI, /metrics and /healthcheck. Env.PodAddress maps it to the process's loopback port.
	TinkerbellHTTPPort = 7080
	// podPath is the PATH of a container process, standing in for the image's.
	podPath = "/usr/bin:/bin"
)

// TinkerbellImages parses "VERSION=BINARY ..." (the Makefile's TINKERBELL_BINARIES) into Options.Images entries
// that map ghcr.io/tinkerbell/tinkerbell:VERSION to the real binary of that release. An empty spec maps nothing,
// so every Tinkerbell container is simulated.
func TinkerbellImages(spec string) (map[string]string, error) {
	images := map[string]string{}
	for field := range strings.FieldsSeq(spec) {
		version, bin, ok := strings.Cut(field, "=")
		if !ok || version == "" || bin == "" {
			return nil, fmt.Errorf("TINKERBELL_BINARIES: %q is not VERSION=BINARY", field)
		}
		images[TinkerbellRepository+":"+version] = bin
	}
	return images, nil
}

// podEnv is the environment a container process starts with, before the container's own (which may override it):
// HOME and PATH stand in for the image's, and KUBECONFIG, when the Pod mounts a ServiceAccount token, for that
// token: client-go reads KUBECONFIG before it looks for the in-cluster config, and the kubeconfig impersonates the
// Pod's ServiceAccount with the groups its token would carry, so the RBAC of the chart applies to the process.
func podEnv(pod *corev1.Pod, home, kubeconfig string) []string {
	env := []string{"HOME=" + home, "PATH=" + podPath}
	if mountsToken(pod) {
		env = append(env, "KUBECONFIG="+kubeconfig)
	}
	return env
}

// mountsToken reports whether a Pod gets its ServiceAccount's token (automountServiceAccountToken defaults to true).
func mountsToken(pod *corev1.Pod) bool {
	return pod.Spec.AutomountServiceAccountToken == nil || *pod.Spec.AutomountServiceAccountToken
}

// overrides returns the variables the kubelet stand-in sets over a container's own environment (env, already
// resolved) and the host port of every container port it moved. The unified Tinkerbell binary has its own rules;
// any other container only has its port variables moved.
func overrides(pod *corev1.Pod, c *corev1.Container, env map[string]string, kubeconfig string) (map[string]string, map[int32]int, error) {
	if imageRepository(c.Image) == TinkerbellRepository {
		return tinkerbellOverrides(pod, env, kubeconfig)
	}
	return portOverrides(c, env)
}

// portEnv is an environment variable that sets a port a container listens on.
type portEnv struct {
	name string
	// def is the binary's default: the container port when the Pod leaves the variable empty.
	def int32
	udp bool
}

// tinkerbellPorts are the listening ports of the unified binary. The variable names are ff's for the flags
// (TINKERBELL_ and the flag name in upper case with "-" as "_"; cmd/tinkerbell/flag/*.go), the defaults
// cmd/tinkerbell/defaults.go's and smee.DefaultTFFTPPort/DefaultSyslogPort, the same at v0.24.0 and v0.25.0.
// Several Pods share the host's loopback here, and ports below 1024 need root: each gets a free port. The
// embedded controllers open no other listener (Tink controller and Rufio set their metrics and health probe
// addresses to "0"; the UI, /metrics and /healthcheck are served on the HTTP port).
var tinkerbellPorts = []portEnv{
	{name: "TINKERBELL_HTTP_PORT", def: TinkerbellHTTPPort}, // Smee's iPXE over HTTP, Tootles, the UI, /metrics, /healthcheck
	{name: "TINKERBELL_HTTPS_PORT", def: 7443},              // the same over TLS, served only with a certificate
	{name: "TINKERBELL_TINK_SERVER_BIND_PORT", def: 42113},  // Tink server (gRPC)
	{name: "TINKERBELL_TFTP_SERVER_BIND_PORT", def: 69, udp: true},
	{name: "TINKERBELL_SYSLOG_BIND_PORT", def: 514, udp: true},
	{name: "TINKERBELL_SECONDSTAR_PORT", def: 2222}, // SecondStar (SSH)
}

// tinkerbellOverrides are the overrides of the unified Tinkerbell binary (v0.24.0 and v0.25.0, the releases the
// module proxy serves; cmd/tinkerbell/cmd.go at those tags).
func tinkerbellOverrides(pod *corev1.Pod, env map[string]string, kubeconfig string) (map[string]string, map[int32]int, error) {
	set := map[string]string{
		// In a Pod the kube backend uses the in-cluster config (the chart leaves backendKubeConfig empty): here the
		// ServiceAccount kubeconfig of podEnv, so the chart's RBAC applies.
		"TINKERBELL_BACKEND_KUBE_CONFIG": kubeconfig,
		// The global bind address, which every listener takes (Smee's TFTP and syslog, Tink server, SecondStar,
		// the HTTP server). Its flag is --bind-address, so the binary reads TINKERBELL_BIND_ADDRESS; the chart sets
		// TINKERBELL_BIND_ADDR, which these releases do not read, so without this they bind the detected public IPv4
		// or 0.0.0.0. The chart's variable is set alike, for a release that reads it.
		"TINKERBELL_BIND_ADDRESS": loopbackIP,
		"TINKERBELL_BIND_ADDR":    loopbackIP,
		// The per-service bind addresses, which the global one replaces in these releases: set so that nothing
		// listens elsewhere should a release stop doing that.
		"TINKERBELL_TINK_SERVER_BIND_ADDR": loopbackIP,
		"TINKERBELL_TFTP_SERVER_BIND_ADDR": loopbackIP,
		"TINKERBELL_SYSLOG_BIND_ADDR":      loopbackIP,
		"TINKERBELL_DHCP_BIND_ADDR":        loopbackIP,
		// DHCP answers broadcasts on port 67: loopback has no broadcast domain, and the port needs root.
		"TINKERBELL_DHCP_ENABLED": "false",
	}
	// With leader election on (the chart's default) and no namespace given, the binary uses the Pod's namespace
	// when it runs in a cluster (controller-runtime reads it from the ServiceAccount mount) and "default"
	// otherwise, where the chart's leader-election Role does not reach: the Pod's namespace, as in a Pod.
	for _, name := range []string{"TINKERBELL_TINK_CONTROLLER_LEADER_ELECTION_NAMESPACE", "TINKERBELL_RUFIO_CONTROLLER_LEADER_ELECTION_NAMESPACE"} {
		if env[name] == "" {
			set[name] = pod.Namespace
		}
	}
	ports := map[int32]int{}
	for _, p := range tinkerbellPorts {
		containerPort := p.def
		if v := env[p.name]; v != "" {
			n, err := strconv.ParseInt(v, 10, 32)
			if err != nil {
				return nil, nil, fmt.Errorf("%s=%q is not a port", p.name, v)
			}
			containerPort = int32(n)
		}
		hostPort, err := freeHostPort(p.udp)
		if err != nil {
			return nil, nil, err
		}
		set[p.name] = strconv.Itoa(hostPort)
		ports[containerPort] = hostPort
	}
	return set, ports, nil
}

// portOverrides moves the ports of a container without rules of its own: a variable whose value is exactly one of
// the container's declared containerPorts is taken as that port's setting (as a process taking PORT) and gets a
// free port, which "$(VAR)" in the arguments then carries. A port set only in the arguments is not moved.
func portOverrides(c *corev1.Container, env map[string]string) (map[string]string, map[int32]int, error) {
	set, ports := map[string]string{}, map[int32]int{}
	for _, name := range slices.Sorted(maps.Keys(env)) {
		for _, p := range c.Ports {
			if env[name] != strconv.Itoa(int(p.ContainerPort)) {
				continue
			}
			hostPort, ok := ports[p.ContainerPort]
			if !ok {
				var err error
				if hostPort, err = freeHostPort(p.Protocol == corev1.ProtocolUDP); err != nil {
					return nil, nil, err
				}
				ports[p.ContainerPort] = hostPort
			}
			set[name] = strconv.Itoa(hostPort)
		}
	}
	return set, ports, nil
}

func freeHostPort(udp bool) (int, error) {
	if udp {
		return freeUDPPort()
	}
	return freePort()
}

// imageRepository returns an image reference without its tag and digest.
func imageRepository(image string) string {
	image, _, _ = strings.Cut(image, "@")
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		image = image[:i]
	}
	return image
}
