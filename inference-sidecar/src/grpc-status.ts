import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ServerErrorResponse } from '@grpc/grpc-js';
import { ErrorCode } from '@mlops/schema';
import { DomainError } from '@mlops/runtime';
import { BatcherError } from './batcher';
import { VersionExistsError } from './model-files';

/** The one place where domain and batcher failures become gRPC statuses. */
export function toGrpcError(error: unknown): Partial<ServerErrorResponse> {
  return { code: grpcCode(error), details: error instanceof Error ? error.message : String(error) };
}

function grpcCode(error: unknown): GrpcStatus {
  if (error instanceof BatcherError) {
    switch (error.kind) {
      case 'queue-full':
      case 'closed':
        return GrpcStatus.UNAVAILABLE;
      case 'deadline-exceeded':
        return GrpcStatus.DEADLINE_EXCEEDED;
      case 'batch-too-large':
        return GrpcStatus.INVALID_ARGUMENT;
      case 'result-count-mismatch':
        return GrpcStatus.INTERNAL;
      default: {
        const _exhaustive: never = error.kind;
        return _exhaustive;
      }
    }
  }
  if (!(error instanceof DomainError)) return GrpcStatus.INTERNAL;
  switch (error.code) {
    case ErrorCode.BAD_USER_INPUT:
      return GrpcStatus.INVALID_ARGUMENT;
    case ErrorCode.LIMIT_EXCEEDED:
    case ErrorCode.RATE_LIMITED:
      return GrpcStatus.RESOURCE_EXHAUSTED;
    case ErrorCode.NOT_FOUND:
      return GrpcStatus.NOT_FOUND;
    case ErrorCode.CONFLICT:
      return error instanceof VersionExistsError ? GrpcStatus.ALREADY_EXISTS : GrpcStatus.FAILED_PRECONDITION;
    case ErrorCode.INVALID_STATE:
      return GrpcStatus.FAILED_PRECONDITION;
    case ErrorCode.UNAVAILABLE:
      return GrpcStatus.UNAVAILABLE;
    case ErrorCode.SUBSCRIPTION_RESTART:
      return GrpcStatus.ABORTED;
    case ErrorCode.UNAUTHENTICATED:
      return GrpcStatus.UNAUTHENTICATED;
    case ErrorCode.FORBIDDEN:
      return GrpcStatus.PERMISSION_DENIED;
    case ErrorCode.INTERNAL_SERVER_ERROR:
      return GrpcStatus.INTERNAL;
    default: {
      const _exhaustive: never = error.code;
      return _exhaustive;
    }
  }
}
