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
