using System.CommandLine;
using System.Text.Json;
using Reweighting.Torch;

namespace Reweighting.Cli.Commands;

/// <summary>`reweight torch ...`: facts about the tensor engine this build uses.</summary>
internal static class TorchCommands
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print machine-readable JSON" };
        var info = new Command("info", "Show the libtorch version, threads, CUDA availability and devices") { json };
        info.SetAction(parse =>
        {
            var facts = new Dictionary<string, object>
            {
                ["libtorch"] = Torch.Torch.LibTorchVersion,
                ["threads"] = Torch.Torch.NumThreads,
                ["cuda_compiled"] = Torch.Torch.Cuda.IsCompiled,
                ["cuda_available"] = Torch.Torch.Cuda.IsAvailable,
                ["cuda_devices"] = Torch.Torch.Cuda.DeviceCount,
                ["fused_attention"] = Torch.Torch.HasFusedAttention,
                ["fused_adamw_cpu"] = Torch.Optim.AdamW.HasFusedKernel(Torch.DeviceType.Cpu),
            };
            if (Torch.Torch.Cuda.IsAvailable) facts["fused_adamw_cuda"] = Torch.Optim.AdamW.HasFusedKernel(Torch.DeviceType.Cuda);
            if (parse.GetValue(json))
                Console.WriteLine(JsonSerializer.Serialize(facts));
            else
                foreach (var (k, v) in facts) Console.WriteLine($"{k,-16} {v}");
            return 0;
        });
        return new Command("torch", "The tensor engine (libtorch through the native shim)") { info };
    }
}
