// The real LangGraph graph the consumer fixtures run: one node that doubles `n`.
import { Annotation, END, START, StateGraph } from "@langchain/langgraph";

export function doublingGraph(node = (state) => ({ n: state.n * 2 })) {
  const State = Annotation.Root({ n: Annotation(), requestId: Annotation() });
  return new StateGraph(State).addNode("double", node).addEdge(START, "double").addEdge("double", END).compile({ name: "consumer" });
}
