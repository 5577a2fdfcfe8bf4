// Test processes: Temporal SDK logs (core's included) at ERROR only; faults make the SDK warn a lot.
import { installRuntime } from '../../src/temporal/runtime.js';

installRuntime('ERROR', '[test]');
