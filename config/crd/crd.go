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

// Package crd embeds the CustomResourceDefinitions controller-gen generates into bases/ ("make manifests"), so
// that the binary checks objects against the very file the cluster installs, never a copy of it. go:embed cannot
// reach a parent directory, hence this package beside the files.
package crd

import _ "embed"

// Tinkerbell is config/crd/bases/kubetink.io_tinkerbells.yaml, the Tinkerbell CRD.
//
//go:embed bases/kubetink.io_tinkerbells.yaml
var Tinkerbell []byte
