// Our wasm training kernels alone: what a machine without the native addon trains on.
import { kernelSuite } from './kernel-suite';

process.env.TRICKBENCH_NATIVE = '0'; // read when the backend is initialised (the suite's beforeAll)
kernelSuite(false);
