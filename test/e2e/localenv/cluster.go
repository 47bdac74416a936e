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
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// startCluster starts what turns API objects into a cluster without containers: kube-controller-manager
// (Deployments, ReplicaSets, DaemonSets, Jobs, PersistentVolume binding, garbage collection, node lifecycle) and
// kube-scheduler, as the administrator. Neither serves anything (--secure-port 0 turns their only listener off;
// --bind-address 127.0.0.1 keeps it on loopback should it ever be turned on) and neither elects a leader, since
// each stack runs one of them. waitCluster waits until they work.
func (e *Env) startCluster() error {
	// The token controller needs the ServiceAccount signing key, which only the apiserver has; nothing here uses
	// Secret-based tokens (processes act as their ServiceAccount through impersonation).
	kcm, err := startProcess("kube-controller-manager", filepath.Join(e.LogDir, "kube-controller-manager.log"), nil,
		filepath.Join(e.opts.ClusterDir, "kube-controller-manager"),
		"--kubeconfig="+e.Kubeconfig, "--leader-elect=false", "--controllers=*,-serviceaccount-token",
		"--bind-address=127.0.0.1", "--secure-port=0")
	if err != nil {
		return err
	}
	e.procs = append(e.procs, kcm)
	e.kcm = kcm
	scheduler, err := startProcess("kube-scheduler", filepath.Join(e.LogDir, "kube-scheduler.log"), nil,
		filepath.Join(e.opts.ClusterDir, "kube-scheduler"),
		"--kubeconfig="+e.Kubeconfig, "--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=0")
	if err != nil {
		return err
	}
	e.procs = append(e.procs, scheduler)
	e.scheduler = scheduler
	return nil
}

// waitCluster waits until kube-controller-manager has done its first work in the default namespace (its
// ServiceAccount controller created the default ServiceAccount, its root CA publisher the kube-root-ca.crt
// ConfigMap: both run only once its informers have synced) and kube-scheduler is still running. The scheduler
// serves nothing to ask, and a Pod to schedule would need a Node; it starts in about the same time as the
// controller manager, and a Pod it has not seen yet is scheduled as soon as it has.
func (e *Env) waitCluster(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	for {
		for _, p := range []*process{e.kcm, e.scheduler} {
			if p.exited() {
				return fmt.Errorf("%s exited: %v (log: %s)", p.name, p.err, p.logPath)
			}
		}
		sa := e.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: "default"}, &corev1.ServiceAccount{})
		ca := e.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: "kube-root-ca.crt"}, &corev1.ConfigMap{})
		if sa == nil && ca == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.Join(fmt.Errorf("kube-controller-manager did not create the default ServiceAccount and kube-root-ca.crt within %s (log: %s)",
				startTimeout, e.kcm.logPath), sa, ca, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
