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

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

// writeImpersonatingKubeconfig writes a copy of the admin kubeconfig that acts as user in groups (such as a
// ServiceAccount's system:serviceaccount:<namespace>:<name>), so the apiserver's RBAC applies to it.
func writeImpersonatingKubeconfig(admin []byte, user, path string, groups ...string) error {
	cfg, err := clientcmd.Load(admin)
	if err != nil {
		return err
	}
	for _, auth := range cfg.AuthInfos {
		auth.Impersonate = user
		auth.ImpersonateGroups = groups
	}
	return clientcmd.WriteToFile(*cfg, path)
}

// writeServiceAccountKubeconfig writes a kubeconfig that acts as a ServiceAccount with the groups its token would
// carry, so RBAC bound to the ServiceAccount, to all ServiceAccounts (of its namespace) or to every authenticated
// user applies as in a cluster.
func writeServiceAccountKubeconfig(admin []byte, namespace, name, path string) error {
	return writeImpersonatingKubeconfig(admin, serviceAccountUser(namespace, name), path,
		"system:serviceaccounts", "system:serviceaccounts:"+namespace, "system:authenticated")
}

func serviceAccountUser(namespace, name string) string {
	return "system:serviceaccount:" + namespace + ":" + name
}

// Kubectl runs kubectl against the kubeconfig and returns its combined output.
func Kubectl(ctx context.Context, kubeconfig string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig", kubeconfig}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	text := dropSkewWarning(out.String())
	if err != nil {
		return text, fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, text)
	}
	return text, nil
}

// dropSkewWarning removes kubectl's client/server version skew warning, which says nothing about the test.
func dropSkewWarning(s string) string {
	var keep []string
	for _, line := range strings.SplitAfter(s, "\n") {
		if !strings.HasPrefix(line, "WARNING: version difference between client") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "")
}
