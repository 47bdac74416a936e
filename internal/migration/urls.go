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

package migration

import (
	"errors"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ErrNoTinkerbellHosts is returned by the port rewrites when Env.Hosts is empty: without Tinkerbell's own
// address they cannot tell its URLs from anyone else's.
var ErrNoTinkerbellHosts = errors.New("no Tinkerbell address given: set the public IP (and any other host name Tinkerbell is reached by)")

// Port moves of Tinkerbell's HTTP services, per release that introduced them.
var (
	// portsV0182: Tootles took over Hegel's metadata service on 7172 instead of 50061, and the Hook artifacts
	// file server moved from the stack chart's nginx on 8080 to 7173.
	portsV0182 = map[string]string{"50061": "7172", "8080": "7173"}
	// portsV0230: PR #573 serves Smee (7171) and Tootles (7172) from one HTTP port, 7080. 50061 is included
	// because a URL still on Hegel's port also means Tootles; when an upgrade crosses both releases the v0.18.2
	// move has already turned it into 7172. The artifacts port 7173 does not change.
	portsV0230 = map[string]string{"7171": "7080", "7172": "7080", "50061": "7080"}
)

// RewritePorts returns a transform that rewrites, in every string under the object's spec (a Template's
// spec.data; a Hardware's userData, vendorData, metadata and netboot URLs; a Workflow's bootOptions; a BMC Job's
// or Task's virtual media URL), the port of each http(s) URL whose
// host is one of Env.Hosts, following ports (old → new). URLs on any other host, and ports not in the map, are
// never touched; a host given as a template expression (for example {{ .publicIP }}) is not Tinkerbell's
// address as far as this transform can tell, and is left alone too.
func RewritePorts(ports map[string]string) TransformFunc {
	return func(obj *unstructured.Unstructured, env Env) (bool, error) {
		if len(env.Hosts) == 0 {
			return false, ErrNoTinkerbellHosts
		}
		re := hostURLPattern(env.Hosts)
		return rewriteSpecStrings(obj, func(s string) string { return rewritePortsIn(s, re, ports) })
	}
}

// hostURLPattern matches "http(s)://<host>:<port>" for the given hosts (case-insensitive; IPv6 in brackets).
// Submatch 1 is the port.
func hostURLPattern(hosts []string) *regexp.Regexp {
	alts := make([]string, 0, len(hosts))
	for _, h := range hosts {
		h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
		if strings.Contains(h, ":") {
			h = "[" + h + "]"
		}
		alts = append(alts, regexp.QuoteMeta(h))
	}
	return regexp.MustCompile(`(?i)https?://(?:` + strings.Join(alts, "|") + `):([0-9]+)`)
}

func rewritePortsIn(s string, re *regexp.Regexp, ports map[string]string) string {
	matches := re.FindAllStringSubmatchIndex(s, -1)
	if matches == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, m := range matches {
		portStart, portEnd := m[2], m[3]
		// The host must end at the colon: "http://10.0.0.1:7172" must not match inside "http://110.0.0.1:7172".
		if m[0] > 0 && isHostByte(s[m[0]-1]) {
			continue
		}
		newPort, ok := ports[s[portStart:portEnd]]
		if !ok {
			continue
		}
		b.WriteString(s[last:portStart])
		b.WriteString(newPort)
		last = portEnd
	}
	b.WriteString(s[last:])
	return b.String()
}

func isHostByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_'
}

// tinkWorkerImage matches the legacy worker image with an optional tag and digest.
var tinkWorkerImage = regexp.MustCompile(`quay\.io/tinkerbell/tink-worker(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[0-9a-f]{64})?`)

// tinkAgentRepository replaces the tink-worker image.
const tinkAgentRepository = "ghcr.io/tinkerbell/tink-agent"

// RewriteTinkWorkerImage replaces references to quay.io/tinkerbell/tink-worker in the strings under the object's
// spec with ghcr.io/tinkerbell/tink-agent. A tagged or pinned reference gets the target release as its tag
// (tink-agent is released with Tinkerbell; the old tags and digests mean nothing for it); an untagged one stays
// untagged. Images from other registries or mirrors are left alone.
func RewriteTinkWorkerImage(obj *unstructured.Unstructured, env Env) (bool, error) {
	if env.To == "" {
		return false, errors.New("no target version given for the tink-agent image tag")
	}
	return rewriteSpecStrings(obj, func(s string) string {
		matches := tinkWorkerImage.FindAllStringSubmatchIndex(s, -1)
		if matches == nil {
			return s
		}
		var b strings.Builder
		last := 0
		for _, m := range matches {
			start, end := m[0], m[1]
			if start > 0 && (isHostByte(s[start-1]) || s[start-1] == '/') {
				continue // part of another name or path, e.g. a mirror's "registry.example.com/quay.io/…".
			}
			if end < len(s) && (isHostByte(s[end]) || s[end] == '/') {
				continue // e.g. "tink-worker-debug".
			}
			b.WriteString(s[last:start])
			b.WriteString(tinkAgentRepository)
			if m[2] >= 0 || m[4] >= 0 {
				b.WriteString(":" + env.To)
			}
			last = end
		}
		b.WriteString(s[last:])
		return b.String()
	})
}

// rewriteSpecStrings applies f to every string under obj's spec and reports whether any changed.
func rewriteSpecStrings(obj *unstructured.Unstructured, f func(string) string) (bool, error) {
	spec, ok := obj.Object["spec"]
	if !ok {
		return false, nil
	}
	newSpec, changed := rewriteValue(spec, f)
	if changed {
		obj.Object["spec"] = newSpec
	}
	return changed, nil
}

func rewriteValue(v any, f func(string) string) (any, bool) {
	switch t := v.(type) {
	case string:
		n := f(t)
		return n, n != t
	case map[string]any:
		changed := false
		for k, e := range t {
			if n, c := rewriteValue(e, f); c {
				t[k] = n
				changed = true
			}
		}
		return t, changed
	case []any:
		changed := false
		for i, e := range t {
			if n, c := rewriteValue(e, f); c {
				t[i] = n
				changed = true
			}
		}
		return t, changed
	}
	return v, false
}
