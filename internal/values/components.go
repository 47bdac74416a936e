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

package values

import (
	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
)

// component is one Tinkerbell service of spec.components: how to read its settings from the spec, and its values
// keys in the legacy stack chart and in the unified chart.
type component struct {
	// field is its name under spec.components.
	field string
	// common returns its enabled and logLevel settings; never nil (the Get* defaults of api/v1alpha1).
	common func(*kubetinkv1alpha1.Components) *kubetinkv1alpha1.ComponentCommon
	// maxConcurrentReconciles returns spec.components.<field>.maxConcurrentReconciles; nil for a service that has
	// no such field (only the controllers, Rufio and the Tink controller, have one).
	maxConcurrentReconciles func(*kubetinkv1alpha1.Components) *int32

	// stack is the values prefix of its subchart in the legacy stack chart (Tootles is still Hegel there).
	stack string
	// stackReplicas is true when that subchart takes <stack>.replicas (stack 0.6.2: the Rufio subchart has none; its
	// Deployment has a fixed replicas: 1).
	stackReplicas bool

	// enable is the key under deployment.envs.globals that turns it on in the unified chart.
	enable string
	// env is its prefix under deployment.envs in the unified chart (logLevel, maxConcurrentReconciles).
	env string
}

// components are the five services of spec.components, in the API's order.
var components = []component{
	{
		field: "smee",
		common: func(c *kubetinkv1alpha1.Components) *kubetinkv1alpha1.ComponentCommon {
			return &c.GetSmee().ComponentCommon
		},
		stack: "smee", stackReplicas: true,
		enable: "enableSmee", env: "smee",
	},
	{
		field: "tootles",
		common: func(c *kubetinkv1alpha1.Components) *kubetinkv1alpha1.ComponentCommon {
			return &c.GetTootles().ComponentCommon
		},
		stack: "hegel", stackReplicas: true,
		enable: "enableTootles", env: "tootles",
	},
	{
		field: "rufio",
		common: func(c *kubetinkv1alpha1.Components) *kubetinkv1alpha1.ComponentCommon {
			return &c.GetRufio().ComponentCommon
		},
		maxConcurrentReconciles: func(c *kubetinkv1alpha1.Components) *int32 {
			return c.GetRufio().MaxConcurrentReconciles
		},
		stack:  "rufio",
		enable: "enableRufioController", env: "rufio",
	},
	{
		field: "tinkServer",
		common: func(c *kubetinkv1alpha1.Components) *kubetinkv1alpha1.ComponentCommon {
			return &c.GetTinkServer().ComponentCommon
		},
		stack: "tink.server", stackReplicas: true,
		enable: "enableTinkServer", env: "tinkServer",
	},
	{
		field: "tinkController",
		common: func(c *kubetinkv1alpha1.Components) *kubetinkv1alpha1.ComponentCommon {
			return &c.GetTinkController().ComponentCommon
		},
		maxConcurrentReconciles: func(c *kubetinkv1alpha1.Components) *int32 {
			return c.GetTinkController().MaxConcurrentReconciles
		},
		stack: "tink.controller", stackReplicas: true,
		enable: "enableTinkController", env: "tinkController",
	},
}

// isController reports whether the service is one of the controllers (Rufio, the Tink controller): they take
// maxConcurrentReconciles and a leader-election namespace, and on the unified chart run in the primary site only.
func (s component) isController() bool {
	return s.maxConcurrentReconciles != nil
}
