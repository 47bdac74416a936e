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

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubetink/kubetink/test/e2e/localenv"
)

const (
	// demoPodCIDR is the demo Node's pod CIDR: it covers 127.0.0.1, where curl's requests come from.
	demoPodCIDR = "127.0.0.0/24"
	// demoNamespace is the examples' target namespace (the default).
	demoNamespace = "tinkerbell"
	// demoMachineIP is the IP of the Hardware in test/e2e/testdata/objects/machine.yaml.
	demoMachineIP = "10.1.1.5"
	// forwardAddr is where the demo serves the running Tinkerbell's HTTP port, like "kubectl port-forward".
	forwardAddr = "127.0.0.1:7080"
)

// showMachine adds the demo machine (its Hardware, a Template and a Workflow), forwards a fixed local port to
// the running Tinkerbell and, once Tinkerbell answers there, prints the curl line that shows the machine's iPXE
// script.
func showMachine(ctx context.Context, env *localenv.Env, root string, logf func(string, ...any)) error {
	objects := filepath.Join(root, "test", "e2e", "testdata", "objects", "machine.yaml")
	if _, err := localenv.Kubectl(ctx, env.Kubeconfig, "apply", "--server-side", "-f", objects); err != nil {
		return err
	}
	logf("added the demo machine: Hardware machine1 (IP %s), Template wipe and Workflow wipe-machine1 in namespace %s",
		demoMachineIP, demoNamespace)
	addr, err := forward(ctx, env, logf)
	if err != nil {
		return err
	}
	url := "http://" + addr + "/ipxe/script/auto.ipxe"
	// Ask as the machine would until Tinkerbell has read the Hardware, so the line printed is known to work.
	var script string
	for ctx.Err() == nil && script == "" {
		script, err = machineScript(ctx, url)
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	fmt.Printf(`
Tinkerbell serves the demo machine. Ask Smee for its iPXE script as the machine would, through a trusted proxy:

  curl -H 'X-Forwarded-For: %s' %s

%s
  curl -H 'X-Forwarded-For: %s' http://%s/2009-04-04/meta-data/hostname    # Tootles
  curl -i %s                                    # no forwarded machine: 404
`, demoMachineIP, url, excerpt(script), demoMachineIP, addr, url)
	return nil
}

// machineScript fetches the demo machine's iPXE script as the machine would, behind a trusted proxy.
func machineScript(ctx context.Context, url string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("X-Forwarded-For", demoMachineIP)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(body), nil
}

// excerpt returns the lines of an iPXE script a reader looks for: where the artifacts and the Tink server are.
func excerpt(script string) string {
	var out []string
	for line := range strings.SplitSeq(script, "\n") {
		if strings.Contains(line, "download-url http") || strings.Contains(line, "grpc_authority=") {
			out = append(out, "    "+strings.TrimSpace(line))
		}
	}
	return strings.Join(out, "\n")
}

// forward listens on forwardAddr (or a free port when it is taken) and copies each connection to the HTTP port
// of the Tinkerbell Pod running at that moment, so the address stays the same across rollouts.
func forward(ctx context.Context, env *localenv.Env, logf func(string, ...any)) (string, error) {
	l, err := net.Listen("tcp", forwardAddr)
	if err != nil {
		if l, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return "", err
		}
	}
	go func() {
		<-ctx.Done()
		_ = l.Close()
	}()
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer in.Close()
				target, err := tinkerbellAddress(ctx, env)
				if err != nil {
					logf("forward %s: %v", l.Addr(), err)
					return
				}
				out, err := net.DialTimeout("tcp", target, 5*time.Second)
				if err != nil {
					logf("forward %s: %v", l.Addr(), err)
					return
				}
				defer out.Close()
				pipe(in, out)
			}()
		}
	}()
	logf("forwarding %s to the running Tinkerbell's port %d", l.Addr(), localenv.TinkerbellHTTPPort)
	return l.Addr().String(), nil
}

// tinkerbellAddress returns where the process of the Ready tinkerbell Pod listens for the chart's HTTP port.
func tinkerbellAddress(ctx context.Context, env *localenv.Env) (string, error) {
	pods := &corev1.PodList{}
	if err := env.Client.List(ctx, pods, client.InNamespace(demoNamespace), client.MatchingLabels{"app": "tinkerbell"}); err != nil {
		return "", err
	}
	var errs []string
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
			continue
		}
		addr, err := env.PodAddress(ctx, p.Namespace, p.Name, localenv.TinkerbellHTTPPort)
		if err == nil {
			return addr, nil
		}
		errs = append(errs, err.Error())
	}
	if len(errs) == 0 {
		return "", errors.New("no running tinkerbell Pod")
	}
	return "", fmt.Errorf("no Tinkerbell process serves: %s", strings.Join(errs, "; "))
}

// pipe copies both ways until either side closes.
func pipe(a, b net.Conn) {
	var wg sync.WaitGroup
	for _, p := range [][2]net.Conn{{a, b}, {b, a}} {
		wg.Go(func() {
			_, _ = io.Copy(p[0], p[1])
			if c, ok := p[0].(*net.TCPConn); ok {
				_ = c.CloseWrite()
			}
		})
	}
	wg.Wait()
}
