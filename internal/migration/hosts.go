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
	"fmt"
	"net"
	"net/url"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// NormalizeHost checks a host Tinkerbell is reached by, as given to "kubetink migrate --tinkerbell-host": an IP
// address (IPv6 with or without brackets) or a DNS name, without scheme, port or path. It returns the address
// without brackets, or the name in lower case (URLs match it in any case).
func NormalizeHost(h string) (string, error) {
	h = strings.TrimSpace(h)
	bare := strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if ip := net.ParseIP(bare); ip != nil {
		return bare, nil
	}
	name := strings.ToLower(h)
	if name == "" || len(validation.IsDNS1123Subdomain(name)) > 0 {
		return "", fmt.Errorf("invalid Tinkerbell host %q: want a host name or an IP address without scheme, port or path", h)
	}
	return name, nil
}

// ValidateArtifactsFileServer checks the URL of an artifacts file server as the migrations use it: http or https,
// a host, an optional port and an optional path prefix; no user info, query or fragment, which cannot be joined
// with the path of a file.
func ValidateArtifactsFileServer(s string) error {
	_, err := parseArtifactsFileServer(s)
	return err
}

// artifactsServer is a validated artifacts file server URL, split for matching.
type artifactsServer struct {
	// base is the URL as given, without a trailing slash: what a file's path is appended to.
	base string
	// scheme and host are in lower case; port is explicit or the scheme's default; path has no trailing slash.
	scheme, host, port, path string
}

func parseArtifactsFileServer(s string) (artifactsServer, error) {
	invalid := func(why string) (artifactsServer, error) {
		return artifactsServer{}, fmt.Errorf("invalid artifacts file server %q: %s", s, why)
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return invalid("not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return invalid("want an http:// or https:// URL")
	case u.Hostname() == "":
		return invalid("no host")
	case u.User != nil, u.RawQuery != "", u.ForceQuery, u.Fragment != "":
		return invalid("want scheme, host, an optional port and an optional path only")
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return artifactsServer{
		base:   strings.TrimRight(s, "/"),
		scheme: u.Scheme,
		host:   strings.ToLower(u.Hostname()),
		port:   port,
		path:   strings.TrimRight(u.Path, "/"),
	}, nil
}
