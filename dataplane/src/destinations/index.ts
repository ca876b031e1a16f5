/**
 * The destination catalog, shared with the control plane: each type's config
 * schema, supported message types and delivery defaults, and the validation
 * the control plane runs on every destination it stores.
 */
export {
  catalog,
  destinationTypes,
  getDestinationType,
  parseDestinationConfig,
  resolveDelivery,
  type CatalogEntry,
} from './registry.ts';
export type { DeliveryDefaults, DestinationType } from './contract.ts';
