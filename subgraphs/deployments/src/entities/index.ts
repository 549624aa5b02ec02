import { Deployment, DeploymentRevision, RevisionModel } from './deployment.entity';
import { ServingEndpoint, ServingPool } from './serving-pool.entity';

export { Deployment, DeploymentRevision, RevisionModel, ServingEndpoint, ServingPool };

export const ENTITIES = [ServingPool, ServingEndpoint, Deployment, DeploymentRevision, RevisionModel];
