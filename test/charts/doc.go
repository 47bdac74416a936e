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

// Package charts proves Kubetink's generated Helm values against the real upstream charts of every release in
// the catalog, offline: it renders each example with the code "kubetink render" uses, templates the packaged
// chart with Helm's Go SDK the way helm-controller installs it, and checks the rendered objects. It is its own
// module so that Helm's dependencies stay out of the operator's go.mod.
package charts
