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
	"fmt"
	"net/http"
	"time"

	"github.com/fluxcd/pkg/runtime/leaderelection"
	"github.com/fluxcd/pkg/runtime/logger"
	"github.com/fluxcd/pkg/runtime/probes"
	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/kubetink/kubetink/internal/scheme"
	"github.com/kubetink/kubetink/internal/version"
)

const controllerName = "kubetink"

// managerOptions are the flags of "kubetink manager".
type managerOptions struct {
	kubeconfig      string
	kubeAPIQPS      float32
	kubeAPIBurst    int
	metricsAddr     string
	healthAddr      string
	leaderElection  leaderelection.Options
	logOptions      logger.Options
	gracefulTimeout time.Duration
}

func newManagerCommand() *cobra.Command {
	o := &managerOptions{}
	cmd := &cobra.Command{
		Use:   "manager",
		Short: "Run the Kubetink controller manager",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runManager(cmd, o)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "Path to a kubeconfig; defaults to $KUBECONFIG, then the in-cluster config.")
	fs.Float32Var(&o.kubeAPIQPS, "kube-api-qps", 50, "Maximum queries per second to the Kubernetes API; negative means no limit.")
	fs.IntVar(&o.kubeAPIBurst, "kube-api-burst", 300, "Maximum burst of requests to the Kubernetes API.")
	fs.StringVar(&o.metricsAddr, "metrics-addr", ":8080", "Address the Prometheus metrics endpoint binds to; 0 disables it.")
	fs.StringVar(&o.healthAddr, "health-addr", ":9440", "Address the /healthz and /readyz probes bind to.")
	fs.DurationVar(&o.gracefulTimeout, "graceful-shutdown-timeout", 30*time.Second, "How long running reconciliations may take to finish on shutdown.")
	o.leaderElection.BindFlags(fs)
	o.logOptions.BindFlags(fs)
	return cmd
}

func restConfig(o *managerOptions) (*rest.Config, error) {
	var (
		cfg *rest.Config
		err error
	)
	if o.kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	} else {
		cfg, err = ctrl.GetConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("failed to load the Kubernetes client config: %w", err)
	}
	cfg.QPS, cfg.Burst = o.kubeAPIQPS, o.kubeAPIBurst
	cfg.UserAgent = controllerName + "/" + version.Version
	return cfg, nil
}

func runManager(cmd *cobra.Command, o *managerOptions) error {
	log := logger.NewLogger(o.logOptions)
	ctrl.SetLogger(log)
	log = log.WithName("setup")

	cfg, err := restConfig(o)
	if err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        scheme.New(),
		Metrics:                       metricsserver.Options{BindAddress: o.metricsAddr},
		HealthProbeBindAddress:        o.healthAddr,
		LeaderElection:                o.leaderElection.Enable,
		LeaderElectionID:              leaderelection.GenerateID(controllerName+"-leader-election", ""),
		LeaderElectionReleaseOnCancel: o.leaderElection.ReleaseOnCancel,
		LeaseDuration:                 &o.leaderElection.LeaseDuration,
		RenewDeadline:                 &o.leaderElection.RenewDeadline,
		RetryPeriod:                   &o.leaderElection.RetryPeriod,
		GracefulShutdownTimeout:       &o.gracefulTimeout,
	})
	if err != nil {
		return fmt.Errorf("failed to create the controller manager: %w", err)
	}
	probes.SetupChecks(mgr, log)
	// Ready only once the informer caches have synced, so a rollout never routes to a blind replica.
	if err := mgr.AddReadyzCheck("informers", func(req *http.Request) error {
		if !mgr.GetCache().WaitForCacheSync(req.Context()) {
			return fmt.Errorf("informer caches not synced")
		}
		return nil
	}); err != nil {
		return fmt.Errorf("failed to add the readiness check: %w", err)
	}

	log.Info("starting manager", "version", version.Version)
	ctx := ctrl.SetupSignalHandler()
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("manager stopped with an error: %w", err)
	}
	log.Info("manager stopped")
	return nil
}
