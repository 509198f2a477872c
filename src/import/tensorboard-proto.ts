// The parts of TensorFlow's Event, Summary and TensorProto messages that an importer reads
// (tensorflow/core/util/event.proto, core/framework/summary.proto, tensor.proto, tensor_shape.proto),
// decoded by protobufjs. Fields we skip (images, histograms, audio, graphs) are declared as bytes:
// the same wire type, so their contents are never parsed.
import protobuf from 'protobufjs';

const PROTO = `
syntax = "proto3";
package tb;
message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what {
    string file_version = 3;
    bytes graph_def = 4;
    Summary summary = 5;
    bytes log_message = 6;
    SessionLog session_log = 7;
    bytes tagged_run_metadata = 8;
    bytes meta_graph_def = 9;
  }
}
message SessionLog {
  enum SessionStatus { STATUS_UNSPECIFIED = 0; START = 1; STOP = 2; CHECKPOINT = 3; }
  SessionStatus status = 1;
  string checkpoint_path = 2;
  string msg = 3;
}
message Summary {
  message Value {
    string node_name = 7;
    string tag = 1;
    SummaryMetadata metadata = 9;
    oneof value {
      float simple_value = 2;
      bytes obsolete_old_style_histogram = 3;
      bytes image = 4;
      bytes histo = 5;
      bytes audio = 6;
      TensorProto tensor = 8;
    }
  }
  repeated Value value = 1;
}
message SummaryMetadata {
  message PluginData { string plugin_name = 1; bytes content = 2; }
  PluginData plugin_data = 1;
  string display_name = 2;
  string summary_description = 3;
  int32 data_class = 4;
}
message TensorShapeProto {
  message Dim { int64 size = 1; string name = 2; }
  repeated Dim dim = 2;
  bool unknown_rank = 3;
}
message TensorProto {
  int32 dtype = 1;
  TensorShapeProto tensor_shape = 2;
  int32 version_number = 3;
  bytes tensor_content = 4;
  repeated int32 half_val = 13;
  repeated float float_val = 5;
  repeated double double_val = 6;
}
`;

const root = protobuf.parse(PROTO, { keepCase: true }).root;
const EventType = root.lookupType('tb.Event');

/** TensorFlow's DataType numbers that hold a scalar we import. */
export const DT_FLOAT = 1;
export const DT_DOUBLE = 2;
export const DT_HALF = 19;

type Int64 = number | { toString(): string };

export interface TbTensor {
  dtype?: number;
  tensor_shape?: { dim?: { size?: Int64 }[]; unknown_rank?: boolean };
  tensor_content?: Uint8Array;
  half_val?: number[];
  float_val?: number[];
  double_val?: number[];
}

export interface TbValue {
  tag?: string;
  node_name?: string;
  metadata?: { plugin_data?: { plugin_name?: string }; data_class?: number };
  simple_value?: number;
  obsolete_old_style_histogram?: Uint8Array;
  image?: Uint8Array;
  histo?: Uint8Array;
  audio?: Uint8Array;
  tensor?: TbTensor;
  value?: string; // the oneof's set field name
}

export interface TbEvent {
  wall_time?: number;
  step?: Int64;
  file_version?: string;
  summary?: { value?: TbValue[] };
  session_log?: { status?: number; msg?: string };
  what?: string;
}

/** One Event record; throws on bytes that are not one. */
export function decodeEvent(data: Uint8Array): TbEvent {
  return EventType.toObject(EventType.decode(data), { oneofs: true, longs: String, enums: Number, defaults: false }) as TbEvent;
}

export const int64 = (v: Int64 | undefined): number => (v === undefined ? 0 : Number(typeof v === 'number' ? v : v.toString()));
