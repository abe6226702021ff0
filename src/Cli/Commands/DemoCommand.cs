using System.CommandLine;

namespace Reweighting.Cli.Commands;

/// <summary>`reweight demo`: the main job on embedded defaults.</summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var steps = new Option<int>("--steps") { Description = "Training steps", DefaultValueFactory = _ => 300 };
        var demo = new Command("demo", "Run the main job on embedded defaults (today: the tensor engine trains a small model)") { steps };
        demo.SetAction(parse => TensorEngineDemo.Run(parse.GetValue(steps)));
        return demo;
    }
}
