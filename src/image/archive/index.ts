export { saveDockerArchive, saveOciArchive, type SaveOptions } from './save.js';
export { loadArchive, type LoadOptions, type LoadedImage } from './load.js';
