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
	"testing"

	. "github.com/onsi/gomega"
)

func TestValidateArtifactsFileServer(t *testing.T) {
	for _, ok := range []string{"http://10.0.0.2:7173", "https://artifacts.example.com", "http://[fd00::2]:7173/hook/", "HTTP://10.0.0.2:7173"} {
		NewWithT(t).Expect(ValidateArtifactsFileServer(ok)).To(Succeed(), ok)
	}
	for bad, why := range map[string]string{
		"10.0.0.2:7173":                 "not a URL",
		"ftp://10.0.0.2":                "want an http:// or https:// URL",
		"http://":                       "no host",
		"http:///hook":                  "no host",
		"http://10.0.0.2:7173/?x=1":     "an optional path only",
		"http://10.0.0.2:7173/#f":       "an optional path only",
		"http://user:pw@10.0.0.2:7173/": "an optional path only",
		"http://10.0.0.2:port":          "not a URL",
	} {
		NewWithT(t).Expect(ValidateArtifactsFileServer(bad)).To(MatchError(ContainSubstring(why)), bad)
	}
}

func TestNormalizeHost(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.1":          "10.0.0.1",
		" 10.0.0.1 ":        "10.0.0.1",
		"fd00::10":          "fd00::10",
		"[fd00::10]":        "fd00::10",
		"Tink.Example.COM":  "tink.example.com",
		"tinkerbell":        "tinkerbell",
		"tink-1.example.io": "tink-1.example.io",
	} {
		got, err := NormalizeHost(in)
		NewWithT(t).Expect(err).NotTo(HaveOccurred(), in)
		NewWithT(t).Expect(got).To(Equal(want), in)
	}
	for _, bad := range []string{"", "http://tink", "tink:7080", "tink/x", "user@tink", "tink_1.example.com", "10.0.0.1:7080", "{{ .publicIP }}"} {
		_, err := NormalizeHost(bad)
		NewWithT(t).Expect(err).To(MatchError(ContainSubstring("invalid Tinkerbell host")), bad)
	}
}
