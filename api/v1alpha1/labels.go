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

package v1alpha1

const (
	// LabelManagedBy is the well-known label naming the tool that manages an object.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedBy is the value of LabelManagedBy on every object Kubetink creates: the generated Flux and Argo CD
	// objects, the migration Jobs, their ServiceAccount and bindings, and the backups of a migration. The
	// manager caches only objects carrying it, and ownership checks and the admission guardrails rely on it.
	ManagedBy = "kubetink"
)
