import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';

function check(value: unknown): string | number {
  if (typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value))) return value;
  throw new GraphQLError(`TensorDim must be an integer or a string; got ${JSON.stringify(value)}`);
}

/** A tensor dimension as ONNX declares it: a fixed size (Int) or a symbolic name (String), e.g. `["batch", 20]`. */
export const TensorDimScalar = new GraphQLScalarType<string | number, string | number>({
  name: 'TensorDim',
  description:
    'A tensor dimension: a fixed size (an integer; -1 when unknown), or the name of a symbolic dimension such as "batch" (a string).',
  serialize: check,
  parseValue: check,
  parseLiteral(ast) {
    if (ast.kind === Kind.INT) return Number(ast.value);
    if (ast.kind === Kind.STRING) return ast.value;
    throw new GraphQLError('TensorDim must be an integer or a string');
  },
});
