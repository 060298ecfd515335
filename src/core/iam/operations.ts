/**
 * Every call Herald authorizes, with the permissions OCI requires for it
 * (../shared/reference/oci-identity.md §5). An operation needing several
 * permissions is allowed only when every one of them is granted.
 *
 * Herald's own extensions map onto the same permissions: reading what was
 * delivered for a topic is reading the topic, re-driving is publishing.
 */
export const OPERATIONS = {
  // --- Notifications ---
  ListTopics: ['ONS_TOPIC_INSPECT'],
  GetTopic: ['ONS_TOPIC_READ'],
  CreateTopic: ['ONS_TOPIC_CREATE'],
  UpdateTopic: ['ONS_TOPIC_UPDATE'],
  DeleteTopic: ['ONS_TOPIC_DELETE'],
  ChangeTopicCompartment: ['ONS_TOPIC_MOVE'],
  PublishMessage: ['ONS_TOPIC_PUBLISH'],
  CreateSubscription: ['ONS_TOPIC_SUBSCRIBE'],
  GetSubscription: ['ONS_TOPIC_SUBSCRIBE'],
  UpdateSubscription: ['ONS_TOPIC_SUBSCRIBE'],
  DeleteSubscription: ['ONS_TOPIC_SUBSCRIBE'],
  ResendSubscriptionConfirmation: ['ONS_TOPIC_SUBSCRIBE'],
  ListSubscriptions: ['ONS_SUBSCRIPTION_INSPECT'],
  ChangeSubscriptionCompartment: ['ONS_SUBSCRIPTION_MOVE'],
  // --- Functions (the docs say ListApp/GetApp/...; policies may name either, see OPERATION_ALIASES) ---
  ListApplications: ['FN_APP_LIST'],
  GetApplication: ['FN_APP_READ'],
  CreateApplication: ['FN_APP_CREATE'],
  UpdateApplication: ['FN_APP_UPDATE'],
  DeleteApplication: ['FN_APP_DELETE'],
  // Not in OCI's table (UNVERIFIED); moving an application is an update of it.
  ChangeApplicationCompartment: ['FN_APP_UPDATE'],
  ListFunctions: ['FN_FUNCTION_LIST'],
  GetFunction: ['FN_FUNCTION_READ'],
  CreateFunction: ['FN_FUNCTION_CREATE'],
  UpdateFunction: ['FN_FUNCTION_UPDATE'],
  DeleteFunction: ['FN_FUNCTION_DELETE'],
  InvokeFunction: ['FN_INVOCATION'],
  // --- Identity ---
  GetTenancy: ['TENANCY_INSPECT'],
  ListCompartments: ['COMPARTMENT_INSPECT'],
  GetCompartment: ['COMPARTMENT_INSPECT'],
  CreateCompartment: ['COMPARTMENT_CREATE'],
  UpdateCompartment: ['COMPARTMENT_UPDATE'],
  DeleteCompartment: ['COMPARTMENT_DELETE'],
  ListUsers: ['USER_INSPECT'],
  GetUser: ['USER_INSPECT'],
  CreateUser: ['USER_CREATE'],
  UpdateUser: ['USER_UPDATE'],
  DeleteUser: ['USER_DELETE'],
  ListApiKeys: ['USER_READ'],
  UploadApiKey: ['USER_UPDATE', 'USER_APIKEY_ADD'],
  DeleteApiKey: ['USER_UPDATE', 'USER_APIKEY_REMOVE'],
  CreateOrResetUIPassword: ['USER_UPDATE', 'USER_UIPASS_SET'],
  ListGroups: ['GROUP_INSPECT'],
  GetGroup: ['GROUP_INSPECT'],
  CreateGroup: ['GROUP_CREATE'],
  UpdateGroup: ['GROUP_UPDATE'],
  DeleteGroup: ['GROUP_DELETE'],
  AddUserToGroup: ['USER_UPDATE', 'GROUP_UPDATE'],
  RemoveUserFromGroup: ['USER_UPDATE', 'GROUP_UPDATE'],
  ListUserGroupMemberships: ['USER_INSPECT', 'GROUP_INSPECT'],
  GetUserGroupMembership: ['USER_INSPECT', 'GROUP_INSPECT'],
  ListPolicies: ['POLICY_READ'],
  GetPolicy: ['POLICY_READ'],
  CreatePolicy: ['POLICY_CREATE'],
  UpdatePolicy: ['POLICY_UPDATE'],
  DeletePolicy: ['POLICY_DELETE'],
  // --- Herald's extensions ---
  /** A message's delivery trace and the topic's recent messages: reading the topic. */
  GetMessageTrace: ['ONS_TOPIC_READ'],
  ListRecentMessages: ['ONS_TOPIC_READ'],
  /** Per-topic counts for the console: inspecting topics. */
  ListTopicActivity: ['ONS_TOPIC_INSPECT'],
  /** Dead letters carry message bodies: reading the topic. */
  ListDeadLetters: ['ONS_TOPIC_READ'],
  /** Re-driving sends the messages again: publishing. */
  RedriveDeadLetters: ['ONS_TOPIC_PUBLISH'],
  /** The dev mailbox holds mail to the tenancy's subscribers: reading topics in the tenancy. */
  ReadMailbox: ['ONS_TOPIC_READ'],
  /** A subscription's webhook signing secret: managing subscriptions to the topic. */
  GetSigningSecret: ['ONS_TOPIC_SUBSCRIBE'],
  /** A function's recent calls and their logs: reading the function. */
  ListFunctionCalls: ['FN_FUNCTION_READ'],
  /** A bundle becomes a function's image: creating or updating functions in the tenancy. */
  UploadFunctionBundle: ['FN_FUNCTION_CREATE'],
} as const satisfies Record<string, readonly string[]>;

export type OperationName = keyof typeof OPERATIONS;

/** `request.operation` values the Functions docs use for the same calls. */
export const OPERATION_ALIASES: Readonly<Partial<Record<OperationName, string>>> = {
  ListApplications: 'ListApp',
  GetApplication: 'GetApp',
  CreateApplication: 'CreateApp',
  UpdateApplication: 'UpdateApp',
  DeleteApplication: 'DeleteApp',
};
