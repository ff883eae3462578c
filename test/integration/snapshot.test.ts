// The shared snapshotter suite against both implementations, with real mounts.
import { snapshotterSuite } from '../../src/image/snapshot/snapshotter.suite.js';
import { OverlaySnapshotter, NativeSnapshotter } from '../../src/image/index.js';
import { makeTar } from './image-fixtures.js';

snapshotterSuite('overlay', (root) => new OverlaySnapshotter(root).init(), makeTar);
snapshotterSuite('native', (root) => new NativeSnapshotter(root).init(), makeTar);
