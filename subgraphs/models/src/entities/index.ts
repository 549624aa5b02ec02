export { RegisteredModel, RegisteredModelTag, ModelAlias } from './registered-model.entity';
export { ModelVersion, ModelVersionTag, MODEL_VERSION_STATUSES } from './model-version.entity';
export type { ModelVersionStatus } from './model-version.entity';

import { RegisteredModel, RegisteredModelTag, ModelAlias } from './registered-model.entity';
import { ModelVersion, ModelVersionTag } from './model-version.entity';

export const ENTITIES = [RegisteredModel, RegisteredModelTag, ModelAlias, ModelVersion, ModelVersionTag];
