/**
 * The public API of cdk8s-talos-proxmox: the constructs and what their props name. The app, the
 * output gate, the plan and the credentials command are the repository's tools, not part of it.
 */
export * from './constructs/addons/chart-resource-set';
export * from './constructs/addons/cilium';
export * from './constructs/addons/talos-ccm';
export * from './constructs/cluster-ref';
export * from './constructs/gitops';
export * from './constructs/networks';
export * from './constructs/proxmox-machine-template';
export * from './constructs/talos-cluster';
export * from './constructs/worker-pool';
export { type Diagnostic, type DiagnosticSource, type Severity, UserError, ValidationError } from './core/errors';
export * from './core/kube-object';
export * from './core/stack';
export { type NodeTaint, TaintEffect } from './talos/node-metadata';
export * from './talos/schematic';

// The generated L1 classes, for escape hatches (`cluster.node.defaultChild as capi.Cluster`).
export * as capi from '../imports/cluster.x-k8s.io';
export * as capiAddons from '../imports/addons.cluster.x-k8s.io';
export * as cabpt from '../imports/bootstrap.cluster.x-k8s.io';
export * as cacppt from '../imports/controlplane.cluster.x-k8s.io';
export * as capmox from '../imports/infrastructure.cluster.x-k8s.io';
export * as ipam from '../imports/ipam.cluster.x-k8s.io';
export * as flux from '../imports/kustomize.toolkit.fluxcd.io';
export * as fluxSource from '../imports/source.toolkit.fluxcd.io';
export * as fleet from '../imports/fleet.cattle.io';
