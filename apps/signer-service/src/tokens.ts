/** Nest injection tokens. */
export const BACKEND_REGISTRY = Symbol('BACKEND_REGISTRY');
export const LOGGER = Symbol('LOGGER');
