export * from '../../gateway/src/demo/fault-proxy.js';
