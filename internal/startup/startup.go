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

// Package startup makes the short-lived kubetink commands start faster.
//
// Go initialises every linked package before main runs, and kubetink links client-go and controller-runtime for
// its manager. Their scheme and metrics registrations allocate a few MiB, enough for the garbage collector to run
// a cycle in the middle of start-up that collects almost nothing. That cycle is about a tenth of the wall time of
// "kubetink render". Imported from main, this package turns the collector off while the packages initialise,
// bounded by a soft memory limit, and Done restores the settings the process started with.
//
// Go initialises packages in import-path order as far as their dependencies allow. This package imports only
// os and runtime/debug, so it runs before all k8s.io and sigs.k8s.io packages (a test in cmd/kubetink checks
// this). A user's GOGC or GOMEMLIMIT always wins: with either set, the package changes nothing.
package startup

import (
	"os"
	"runtime/debug"
)

// memoryLimit bounds the heap while the collector is off: past it the runtime collects as usual. Start-up stays
// below 10 MiB; a render, which compiles the CRD's CEL rules (internal/crdschema), allocates about 20 MiB more.
const memoryLimit = 64 << 20

// restore puts back the settings init replaced; nil when there is nothing to put back.
var restore func()

func init() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	percent := debug.SetGCPercent(-1)
	limit := debug.SetMemoryLimit(memoryLimit)
	restore = func() {
		debug.SetMemoryLimit(limit)
		debug.SetGCPercent(percent)
	}
}

// Done restores the collector settings the process started with. Long-running commands call it before they
// start work; a short-lived command may skip it and finish with the collector off, still bounded by the memory
// limit. Only the first call does anything. Not safe for concurrent use: call it from main.
func Done() {
	if restore != nil {
		restore()
		restore = nil
	}
}
