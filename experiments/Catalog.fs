/// Every experiment, by name, in the order Reproduce runs them.
module SkipRnn.Experiments.ExperimentCatalog

open SkipRnn.Experiments

let all : (string * (Profile -> Experiment)) list =
    [ "figure1", Figure1.define
      "table1", Table1.define
      "figure3", Figure3.define
      "appendixE", AppendixE.define
      "grid", HyperparameterGrid.define
      "table2", Table2.define ]

let names () = all |> List.map fst |> String.concat ", "

let tryFind (name: string) =
    all |> List.tryFind (fun (n, _) -> System.String.Equals(n, name.Trim(), System.StringComparison.OrdinalIgnoreCase)) |> Option.map snd
