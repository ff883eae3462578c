// ContainerRuntime: what a node agent needs from the container runtime of its node, in the
// vocabulary of the Container Runtime Interface (k8s.io/cri-api runtime/v1): pod sandboxes,
// containers in them, exec/attach/port-forward (answered with a streaming URL, as upstream), stats,
// events and images. Requests and responses are the CRI messages themselves (types generated from
// proto/api.proto), so one implementation serves both the in-process agent and the gRPC endpoint
// that crictl, critest and a real kubelet use; the gRPC edge only maps errors to status codes.
//
// Implementations throw the closed set of SkiffErrors (NotFound for an unknown sandbox, container or
// image; InvalidArgument for a bad request; FailedPrecondition for an illegal state change, ...).
import type { AttachRequestInput } from './generated/runtime/v1/AttachRequest.js';
import type { AttachResponse } from './generated/runtime/v1/AttachResponse.js';
import type { ContainerEventResponse } from './generated/runtime/v1/ContainerEventResponse.js';
import type { ContainerStatsRequestInput } from './generated/runtime/v1/ContainerStatsRequest.js';
import type { ContainerStatsResponse } from './generated/runtime/v1/ContainerStatsResponse.js';
import type { ContainerStatusRequestInput } from './generated/runtime/v1/ContainerStatusRequest.js';
import type { ContainerStatusResponse } from './generated/runtime/v1/ContainerStatusResponse.js';
import type { CreateContainerRequestInput } from './generated/runtime/v1/CreateContainerRequest.js';
import type { CreateContainerResponse } from './generated/runtime/v1/CreateContainerResponse.js';
import type { ExecRequestInput } from './generated/runtime/v1/ExecRequest.js';
import type { ExecResponse } from './generated/runtime/v1/ExecResponse.js';
import type { ExecSyncRequestInput } from './generated/runtime/v1/ExecSyncRequest.js';
import type { ExecSyncResponse } from './generated/runtime/v1/ExecSyncResponse.js';
import type { GetEventsRequestInput } from './generated/runtime/v1/GetEventsRequest.js';
import type { ImageFsInfoRequestInput } from './generated/runtime/v1/ImageFsInfoRequest.js';
import type { ImageFsInfoResponse } from './generated/runtime/v1/ImageFsInfoResponse.js';
import type { ImageStatusRequestInput } from './generated/runtime/v1/ImageStatusRequest.js';
import type { ImageStatusResponse } from './generated/runtime/v1/ImageStatusResponse.js';
import type { ListContainerStatsRequestInput } from './generated/runtime/v1/ListContainerStatsRequest.js';
import type { ListContainerStatsResponse } from './generated/runtime/v1/ListContainerStatsResponse.js';
import type { ListContainersRequestInput } from './generated/runtime/v1/ListContainersRequest.js';
import type { ListContainersResponse } from './generated/runtime/v1/ListContainersResponse.js';
import type { ListImagesRequestInput } from './generated/runtime/v1/ListImagesRequest.js';
import type { ListImagesResponse } from './generated/runtime/v1/ListImagesResponse.js';
import type { ListPodSandboxRequestInput } from './generated/runtime/v1/ListPodSandboxRequest.js';
import type { ListPodSandboxResponse } from './generated/runtime/v1/ListPodSandboxResponse.js';
import type { ListPodSandboxStatsRequestInput } from './generated/runtime/v1/ListPodSandboxStatsRequest.js';
import type { ListPodSandboxStatsResponse } from './generated/runtime/v1/ListPodSandboxStatsResponse.js';
import type { ListMetricDescriptorsRequestInput } from './generated/runtime/v1/ListMetricDescriptorsRequest.js';
import type { ListMetricDescriptorsResponse } from './generated/runtime/v1/ListMetricDescriptorsResponse.js';
import type { ListPodSandboxMetricsRequestInput } from './generated/runtime/v1/ListPodSandboxMetricsRequest.js';
import type { ListPodSandboxMetricsResponse } from './generated/runtime/v1/ListPodSandboxMetricsResponse.js';
import type { PodSandboxStatsRequestInput } from './generated/runtime/v1/PodSandboxStatsRequest.js';
import type { PodSandboxStatsResponse } from './generated/runtime/v1/PodSandboxStatsResponse.js';
import type { PodSandboxStatusRequestInput } from './generated/runtime/v1/PodSandboxStatusRequest.js';
import type { PodSandboxStatusResponse } from './generated/runtime/v1/PodSandboxStatusResponse.js';
import type { PortForwardRequestInput } from './generated/runtime/v1/PortForwardRequest.js';
import type { PortForwardResponse } from './generated/runtime/v1/PortForwardResponse.js';
import type { PullImageRequestInput } from './generated/runtime/v1/PullImageRequest.js';
import type { PullImageResponse } from './generated/runtime/v1/PullImageResponse.js';
import type { RemoveContainerRequestInput } from './generated/runtime/v1/RemoveContainerRequest.js';
import type { RemoveContainerResponse } from './generated/runtime/v1/RemoveContainerResponse.js';
import type { RemoveImageRequestInput } from './generated/runtime/v1/RemoveImageRequest.js';
import type { RemoveImageResponse } from './generated/runtime/v1/RemoveImageResponse.js';
import type { RemovePodSandboxRequestInput } from './generated/runtime/v1/RemovePodSandboxRequest.js';
import type { RemovePodSandboxResponse } from './generated/runtime/v1/RemovePodSandboxResponse.js';
import type { ReopenContainerLogRequestInput } from './generated/runtime/v1/ReopenContainerLogRequest.js';
import type { ReopenContainerLogResponse } from './generated/runtime/v1/ReopenContainerLogResponse.js';
import type { RunPodSandboxRequestInput } from './generated/runtime/v1/RunPodSandboxRequest.js';
import type { RunPodSandboxResponse } from './generated/runtime/v1/RunPodSandboxResponse.js';
import type { RuntimeConfigRequestInput } from './generated/runtime/v1/RuntimeConfigRequest.js';
import type { RuntimeConfigResponse } from './generated/runtime/v1/RuntimeConfigResponse.js';
import type { StartContainerRequestInput } from './generated/runtime/v1/StartContainerRequest.js';
import type { StartContainerResponse } from './generated/runtime/v1/StartContainerResponse.js';
import type { StatusRequestInput } from './generated/runtime/v1/StatusRequest.js';
import type { StatusResponse } from './generated/runtime/v1/StatusResponse.js';
import type { StopContainerRequestInput } from './generated/runtime/v1/StopContainerRequest.js';
import type { StopContainerResponse } from './generated/runtime/v1/StopContainerResponse.js';
import type { StopPodSandboxRequestInput } from './generated/runtime/v1/StopPodSandboxRequest.js';
import type { StopPodSandboxResponse } from './generated/runtime/v1/StopPodSandboxResponse.js';
import type { UpdateContainerResourcesRequestInput } from './generated/runtime/v1/UpdateContainerResourcesRequest.js';
import type { UpdateContainerResourcesResponse } from './generated/runtime/v1/UpdateContainerResourcesResponse.js';
import type { UpdateRuntimeConfigRequestInput } from './generated/runtime/v1/UpdateRuntimeConfigRequest.js';
import type { UpdateRuntimeConfigResponse } from './generated/runtime/v1/UpdateRuntimeConfigResponse.js';
import type { VersionRequestInput } from './generated/runtime/v1/VersionRequest.js';
import type { VersionResponse } from './generated/runtime/v1/VersionResponse.js';

/** CRI RuntimeService: one method per RPC, named as the RPC in lower camel case. */
export interface RuntimeService {
  version(req: VersionRequestInput): Promise<VersionResponse>;
  runPodSandbox(req: RunPodSandboxRequestInput): Promise<RunPodSandboxResponse>;
  stopPodSandbox(req: StopPodSandboxRequestInput): Promise<StopPodSandboxResponse>;
  removePodSandbox(req: RemovePodSandboxRequestInput): Promise<RemovePodSandboxResponse>;
  podSandboxStatus(req: PodSandboxStatusRequestInput): Promise<PodSandboxStatusResponse>;
  listPodSandbox(req: ListPodSandboxRequestInput): Promise<ListPodSandboxResponse>;
  createContainer(req: CreateContainerRequestInput): Promise<CreateContainerResponse>;
  startContainer(req: StartContainerRequestInput): Promise<StartContainerResponse>;
  stopContainer(req: StopContainerRequestInput): Promise<StopContainerResponse>;
  removeContainer(req: RemoveContainerRequestInput): Promise<RemoveContainerResponse>;
  listContainers(req: ListContainersRequestInput): Promise<ListContainersResponse>;
  containerStatus(req: ContainerStatusRequestInput): Promise<ContainerStatusResponse>;
  updateContainerResources(req: UpdateContainerResourcesRequestInput): Promise<UpdateContainerResourcesResponse>;
  reopenContainerLog(req: ReopenContainerLogRequestInput): Promise<ReopenContainerLogResponse>;
  execSync(req: ExecSyncRequestInput): Promise<ExecSyncResponse>;
  /** Exec, Attach and PortForward answer with a URL on the runtime's streaming server. */
  exec(req: ExecRequestInput): Promise<ExecResponse>;
  attach(req: AttachRequestInput): Promise<AttachResponse>;
  portForward(req: PortForwardRequestInput): Promise<PortForwardResponse>;
  containerStats(req: ContainerStatsRequestInput): Promise<ContainerStatsResponse>;
  listContainerStats(req: ListContainerStatsRequestInput): Promise<ListContainerStatsResponse>;
  podSandboxStats(req: PodSandboxStatsRequestInput): Promise<PodSandboxStatsResponse>;
  listPodSandboxStats(req: ListPodSandboxStatsRequestInput): Promise<ListPodSandboxStatsResponse>;
  /** cAdvisor-style metrics (kubelet's /metrics/cadvisor with PodAndContainerStatsFromCRI): the
   *  descriptors (name, help, label keys) and each ready sandbox's values in that label order. */
  listMetricDescriptors(req: ListMetricDescriptorsRequestInput): Promise<ListMetricDescriptorsResponse>;
  listPodSandboxMetrics(req: ListPodSandboxMetricsRequestInput): Promise<ListPodSandboxMetricsResponse>;
  updateRuntimeConfig(req: UpdateRuntimeConfigRequestInput): Promise<UpdateRuntimeConfigResponse>;
  status(req: StatusRequestInput): Promise<StatusResponse>;
  runtimeConfig(req: RuntimeConfigRequestInput): Promise<RuntimeConfigResponse>;
  /** Container lifecycle events (created, started, stopped, deleted) until the signal aborts. */
  getContainerEvents(req: GetEventsRequestInput, signal: AbortSignal): AsyncIterable<ContainerEventResponse>;
}

/** CRI ImageService. */
export interface ImageService {
  listImages(req: ListImagesRequestInput): Promise<ListImagesResponse>;
  imageStatus(req: ImageStatusRequestInput): Promise<ImageStatusResponse>;
  pullImage(req: PullImageRequestInput): Promise<PullImageResponse>;
  removeImage(req: RemoveImageRequestInput): Promise<RemoveImageResponse>;
  imageFsInfo(req: ImageFsInfoRequestInput): Promise<ImageFsInfoResponse>;
}

/** The whole runtime of one node, as the agent sees it. */
export interface ContainerRuntime extends RuntimeService, ImageService {}
