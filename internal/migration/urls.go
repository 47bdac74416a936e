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
	"fmt"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ErrNoTinkerbellHosts is returned by the URL rewrites when Env.Hosts is empty: without Tinkerbell's own
// address they cannot tell its URLs from anyone else's.
var ErrNoTinkerbellHosts = errors.New("no Tinkerbell address given: set the public IP (and any other host name Tinkerbell is reached by)")

// portMove moves the URLs on one port of Tinkerbell's address to another port.
type portMove struct {
	// from and to are the old and the new port.
	from, to string
	// scheme limits the move to URLs of this scheme; "" moves http and https URLs alike.
	scheme string
	// unserved is a path prefix the new port does not serve. URLs under it stay as they are (a URL that fails the
	// same way on either port is better left as the user wrote it), and the migration's report lists them with
	// unservedNote.
	unserved, unservedNote string
}

// Port moves of Tinkerbell's HTTP services, per release that introduced them. Every release of the catalog keeps
// the ports of internal/catalog (Ports), checked there against each release's values.yaml.
var (
	// portsV0182: from v0.18.2 Tootles serves the metadata Hegel served on 50061 on 7172 (the legacy stack 0.6.2
	// has hegel.service.port 50061; the unified chart's values.yaml changed 50061 to 7172 in v0.18.2). The Hook
	// artifacts of the legacy stack moved to another server altogether: see RewriteLegacyArtifactURLs.
	portsV0182 = []portMove{{from: "50061", to: "7172"}}
	// portsV0230: PR #573 serves Smee (7171) and Tootles (7172) from one HTTP port, 7080, and moves HTTPS from
	// 7272 (service.ports.https, new in v0.22.0) to 7443. 50061 is included because a URL still on Hegel's port
	// also means Tootles; when an upgrade crosses both releases the v0.18.2 move has already turned it into 7172.
	// 7272 only ever served TLS, so only https URLs move. v0.22.x served all of Smee on 7272, but from v0.23.0
	// (cmd/tinkerbell/http.go, also at v0.24.0 and v0.25.0) HTTPS serves the ISO, the metadata and the UI, not
	// the iPXE binaries and scripts: those https URLs are left and reported. The artifacts port 7173 stays.
	portsV0230 = []portMove{
		{from: "7171", to: "7080"},
		{from: "7172", to: "7080"},
		{from: "50061", to: "7080"},
		{from: "7272", to: "7443", scheme: "https", unserved: "/ipxe/",
			unservedNote: "Tinkerbell v0.23.0 and later serve iPXE binaries and scripts over HTTP only (port 7080), not over HTTPS"},
	}
)

// findPortMove returns the move that applies to u, if any.
func findPortMove(moves []portMove, u hostURL) (portMove, bool) {
	for _, m := range moves {
		if m.from == u.port && (m.scheme == "" || m.scheme == u.scheme) {
			return m, true
		}
	}
	return portMove{}, false
}

// rewritePorts returns a transform that rewrites, in every string under the object's spec (a Template's
// spec.data; a Hardware's userData, vendorData, metadata and netboot URLs; a Workflow's bootOptions; a BMC Job's
// or Task's virtual media URL), the port of each http(s) URL whose host is one of Env.Hosts, following moves.
// URLs on any other host, and ports not moved, are never touched; a host given as a template expression (for
// example {{ .publicIP }}) is not Tinkerbell's address as far as this transform can tell, and is left alone too.
func rewritePorts(moves []portMove) TransformFunc {
	return func(obj *unstructured.Unstructured, env Env) (bool, error) {
		if len(env.Hosts) == 0 {
			return false, ErrNoTinkerbellHosts
		}
		f := newURLFinder(env.Hosts)
		return rewriteSpecStrings(obj, func(s string) string { return rewritePortsIn(s, f, moves) })
	}
}

func rewritePortsIn(s string, f urlFinder, moves []portMove) string {
	return f.edit(s, func(u hostURL) (string, bool) {
		m, ok := findPortMove(moves, u)
		if !ok || (m.unserved != "" && strings.HasPrefix(u.path, m.unserved)) {
			return "", false
		}
		return u.text[:u.portStart] + m.to + u.text[u.portEnd:], true
	})
}

// reportUnservedPorts returns a ReportFunc listing the URLs that rewritePorts(moves) leaves because the new port
// does not serve their path.
func reportUnservedPorts(moves []portMove) ReportFunc {
	return func(obj *unstructured.Unstructured, env Env) []string {
		if len(env.Hosts) == 0 {
			return nil
		}
		f := newURLFinder(env.Hosts)
		notes := map[string][]string{}
		var order []string
		walkSpecStrings(obj, func(s string) {
			for _, u := range f.find(s) {
				m, ok := findPortMove(moves, u)
				if !ok || m.unserved == "" || !strings.HasPrefix(u.path, m.unserved) {
					continue
				}
				if _, seen := notes[m.unservedNote]; !seen {
					order = append(order, m.unservedNote)
				}
				notes[m.unservedNote] = appendNew(notes[m.unservedNote], u.text)
			}
		})
		slices.Sort(order)
		out := make([]string, 0, len(order))
		for _, n := range order {
			slices.Sort(notes[n])
			out = append(out, fmt.Sprintf("left %s as is: %s", strings.Join(notes[n], ", "), n))
		}
		return out
	}
}

// hostURL is a URL with an explicit port on one of Tinkerbell's hosts, as found in a string.
type hostURL struct {
	// start and end delimit text in the string searched.
	start, end int
	// text is scheme://host:port followed by the path, if any (query and fragment are not part of it).
	text string
	// scheme is "http" or "https", in lower case; host is as written.
	scheme, host string
	// port is the port; portStart and portEnd delimit it in text.
	port               string
	portStart, portEnd int
	// path is the path after the port, "" when there is none. A template expression in it ({{ ... }}) is taken
	// whole, spaces and quotes included.
	path string
}

// urlFinder finds the URLs on a set of hosts in free text: Templates, cloud-init user data, plain URL fields.
type urlFinder struct {
	re *regexp.Regexp
}

// newURLFinder matches "http(s)://<host>:<port>" for the given hosts (case-insensitive; IPv6 in brackets).
func newURLFinder(hosts []string) urlFinder {
	alts := make([]string, 0, len(hosts))
	for _, h := range hosts {
		h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
		if strings.Contains(h, ":") {
			h = "[" + h + "]"
		}
		alts = append(alts, regexp.QuoteMeta(h))
	}
	return urlFinder{re: regexp.MustCompile(`(?i)(https?)://(` + strings.Join(alts, "|") + `):([0-9]+)`)}
}

// find returns the URLs on the finder's hosts in s, in order.
func (f urlFinder) find(s string) []hostURL {
	var out []hostURL
	for _, m := range f.re.FindAllStringSubmatchIndex(s, -1) {
		// The scheme must start the URL: "xhttp://10.0.0.1:7172" is not a URL on 10.0.0.1. (The host must end
		// at the colon, so "http://110.0.0.1:7172" and "http://10.0.0.1.example.com:7172" never match 10.0.0.1.)
		if m[0] > 0 && isHostByte(s[m[0]-1]) {
			continue
		}
		end := urlPathEnd(s, m[1])
		out = append(out, hostURL{
			start:     m[0],
			end:       end,
			text:      s[m[0]:end],
			scheme:    strings.ToLower(s[m[2]:m[3]]),
			host:      s[m[4]:m[5]],
			port:      s[m[6]:m[7]],
			portStart: m[6] - m[0],
			portEnd:   m[7] - m[0],
			path:      s[m[1]:end],
		})
	}
	return out
}

// edit returns s with the text of each URL found replaced by what fn returns for it, where fn says so.
func (f urlFinder) edit(s string, fn func(hostURL) (string, bool)) string {
	var b strings.Builder
	last := 0
	for _, u := range f.find(s) {
		repl, ok := fn(u)
		if !ok || repl == u.text {
			continue
		}
		b.WriteString(s[last:u.start])
		b.WriteString(repl)
		last = u.end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// urlPathEnd returns where the URL path starting at s[i] ends: at a query, a fragment, or the first character
// that does not belong to a URL in running text (space, quote, bracket, comma, semicolon, ...). There is no path
// unless s[i] is "/". A template expression ({{ ... }}) is part of the path.
func urlPathEnd(s string, i int) int {
	if i >= len(s) || s[i] != '/' {
		return i
	}
	for i < len(s) {
		if strings.HasPrefix(s[i:], "{{") {
			j := strings.Index(s[i+2:], "}}")
			if j < 0 {
				return i
			}
			i += 2 + j + 2
			continue
		}
		if !isHostByte(s[i]) && !strings.ContainsRune("/~!$*+=:@%", rune(s[i])) {
			return i
		}
		i++
	}
	return i
}

func isHostByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_'
}

// appendNew appends s to list unless it is there already.
func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
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

// walkSpecStrings calls f with every string under obj's spec.
func walkSpecStrings(obj *unstructured.Unstructured, f func(string)) {
	spec, ok := obj.Object["spec"]
	if !ok {
		return
	}
	// rewriteValue changes nothing when f returns its argument.
	rewriteValue(spec, func(s string) string {
		f(s)
		return s
	})
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
