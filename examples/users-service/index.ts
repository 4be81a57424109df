export { createUsersService, startUsersService, USERS_SERVICE_NAME } from './app.js';
export type { UsersServiceOptions, UsersServiceStartOptions } from './app.js';
export { ensureUsersServiceSchema, USERS_SERVICE_SCHEMA_SQL } from './schema.js';
export { toApiUser } from './users-routes.js';
export type { ExampleApp, RunningServer } from '../shared/http-server.js';
