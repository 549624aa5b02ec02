import { PerformancePoint } from './performance-point.entity';
import { Strategy } from './strategy.entity';

export { PerformancePoint, Strategy };

export const ENTITIES = [Strategy, PerformancePoint];
