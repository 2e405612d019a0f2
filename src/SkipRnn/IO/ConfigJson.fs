namespace SkipRnn.IO

open System
open System.Text.Json
open System.Text.Json.Nodes
open SkipRnn.Training

/// Run configurations as JSON documents (config.json), with the keys of ConfigSchema, which also gives
/// `skiprnn train` its options. Every key is optional when reading; missing keys take their defaults.
module ConfigJson =

    let toNode (c: RunConfig) : JsonObject = ConfigSchema.write c

    let toJson (c: RunConfig) = (toNode c).ToJsonString(JsonSerializerOptions(WriteIndented = true))

    /// The JSON object of a document, or ConfigError with one sentence.
    let parseObject (json: string) : JsonObject =
        let node =
            try JsonNode.Parse json
            with e -> raise (ConfigError(sprintf "not valid JSON (%s)" (e.Message.Split('\n')[0])))
        match node with
        | :? JsonObject as o ->
            // JsonObject materializes its keys on first use, and refuses a key that appears twice only then.
            try o.Count |> ignore
            with :? ArgumentException -> raise (ConfigError "a key appears twice")
            o
        | _ -> raise (ConfigError "the configuration must be a JSON object")

    /// A config from a JSON object, checked; Error with one sentence if a key or a value is invalid.
    let ofObject (o: JsonObject) : Result<RunConfig, string> =
        try ConfigSchema.read o |> RunConfig.validate
        with ConfigError message -> Error message

    /// A config from JSON, checked; Error with one sentence if the JSON is malformed or a value is invalid.
    let parse (json: string) : Result<RunConfig, string> =
        try parseObject json |> ofObject
        with ConfigError message -> Error message
