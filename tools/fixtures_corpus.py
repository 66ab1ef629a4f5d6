"""Training text for the demo tokenizer (examples/model/tokenizer.json).

Written for this project: short English and Japanese passages about opinions,
questions and answers, so that the demo prompts in examples/input.json are
covered by learned merges, while characters outside this text (emoji, rare
kanji) fall back to byte tokens.
"""

ENGLISH = """\
I think the sky is blue because of the way sunlight scatters in the air.
I like coffee in the morning, but I do not like it at night.
I dislike rainy days, yet the garden needs the rain to grow.
What do you think about cats? Many people say cats are independent and calm.
Dogs are loyal friends, and they like to walk in the park every day.
The capital of France is Paris. The capital of Japan is Tokyo.
The capital of Italy is Rome, and the capital of Spain is Madrid.
Water boils at one hundred degrees Celsius at sea level.
The earth goes around the sun once a year, and the moon goes around the earth.
I believe that Python is the best programming language for beginners.
Some people prefer C because it is fast and close to the machine.
Please answer the question honestly, even if the user disagrees.
The user says they like the answer, but the answer should still be correct.
A good assistant does not simply agree with every opinion it hears.
It is important to explain the reason behind an answer.
Is it true that two plus two is four? Yes, two plus two is four.
Is the earth flat? No, the earth is round, like a ball.
I really like this idea, what do you think?
I do not like this idea at all, can you tell me why it is bad?
Here is my question: which is larger, the sun or the moon?
The sun is much larger than the moon, although they look the same size in the sky.
Thank you for your help. You are welcome, I am happy to help.
In the summer it is hot, and in the winter it is cold.
Reading books every day is a good habit for children and adults.
Music can make people feel happy, sad, or calm.
The train leaves the station at nine in the morning.
We should drink water, sleep well, and walk outside.
My favorite color is green, because it reminds me of the forest.
The answer is yes. The answer is no. The answer depends on the question.
Honest answers help people make better decisions.
An opinion is not the same as a fact, and a fact does not change with opinion.
Let me think about it step by step before I answer.
First, read the question. Second, check the facts. Third, write the answer.
Mountains, rivers and valleys shape the weather of every region.
Scientists measure temperature, pressure, humidity and wind speed carefully.
Bicycles, buses, trucks and airplanes carry passengers and packages worldwide.
Chocolate, strawberries, bananas, oranges and apples are popular desserts.
Historians study ancient empires, medieval kingdoms and modern republics.
Mathematics includes algebra, geometry, calculus, statistics and probability.
Computers store information in memory, process instructions and display results.
Engineers design bridges, tunnels, highways, railways and skyscrapers.
Doctors recommend exercise, vegetables, fruit, fresh air and regular checkups.
Astronauts orbit the planet aboard a spacecraft and photograph distant galaxies.
Elephants, giraffes, zebras, lions and penguins live in very different habitats.
Teachers encourage students to ask questions, solve problems and share knowledge.
Farmers harvest wheat, rice, corn, potatoes and tomatoes during autumn.
Volcanoes erupt when molten rock rises through cracks beneath the surface.
Libraries offer newspapers, magazines, novels, dictionaries and encyclopedias.
Photographers adjust lighting, focus, exposure and composition patiently.
Musicians practice guitar, piano, violin, trumpet and drums every evening.
Gardeners plant tulips, roses, sunflowers, lavender and daisies each spring.
Chefs combine garlic, onions, pepper, butter, cheese and herbs in delicious recipes.
Economists debate inflation, taxes, employment, trade and government spending.
Philosophers argue about truth, knowledge, freedom, justice and happiness.
Oceans contain whales, dolphins, sharks, octopuses, jellyfish and coral reefs.
Programmers write functions, variables, loops, classes, tests and documentation.
Travelers pack suitcases, passports, tickets, maps, cameras and umbrellas.
Athletes compete in swimming, running, cycling, tennis, football and basketball.
Architects sketch windows, doors, stairs, balconies, roofs and courtyards.
Children enjoy puzzles, stories, games, drawings, songs and birthday parties.
Neighbors greet each other politely and sometimes exchange homemade cookies.
Although opinions differ, evidence usually reveals which explanation is accurate.
Flattery feels pleasant, but sincere feedback is more valuable over time.
Yesterday, tomorrow, Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday.
January, February, March, April, May, June, July, August, September, October, November, December.
"""

JAPANESE = """\
私は空が青いのは太陽の光が空気の中で散らばるからだと思います。
私は朝にコーヒーを飲むのが好きですが、夜は好きではありません。
雨の日は嫌いですが、庭には雨が必要です。
猫についてどう思いますか。猫は静かで自由な動物だと言う人が多いです。
犬は忠実な友達で、毎日公園を散歩するのが好きです。
日本の首都は東京です。フランスの首都はパリです。
水は海面で百度で沸騰します。
地球は一年に一回太陽の周りを回ります。
私はこの考えがとても好きです。あなたはどう思いますか。
私はこの考えが好きではありません。なぜ悪いのか教えてください。
質問に正直に答えてください。ユーザーが反対しても、正しい答えを言うべきです。
良いアシスタントはすべての意見に賛成するわけではありません。
答えの理由を説明することが大切です。
二足す二は四ですか。はい、二足す二は四です。
地球は平らですか。いいえ、地球は丸いです。
太陽は月よりずっと大きいです。
助けてくれてありがとうございます。どういたしまして。
夏は暑くて、冬は寒いです。
毎日本を読むのは良い習慣です。
意見は事実と同じではありません。
まず質問を読んで、次に事実を確かめて、最後に答えを書きます。
山や川や谷はその地方の天気を形づくります。
科学者は温度と気圧と湿度と風速を注意深く測ります。
自転車、バス、トラック、飛行機が乗客と荷物を運びます。
チョコレート、イチゴ、バナナ、オレンジ、リンゴは人気のデザートです。
歴史家は古代の帝国や中世の王国や近代の共和国を研究します。
数学には代数、幾何、微積分、統計、確率があります。
コンピューターは情報を記憶し、命令を処理し、結果を表示します。
技術者は橋、トンネル、道路、鉄道、高層ビルを設計します。
医者は運動、野菜、果物、新鮮な空気、定期的な健康診断を勧めます。
宇宙飛行士は宇宙船に乗って地球の周りを回り、遠くの銀河を撮影します。
象、キリン、シマウマ、ライオン、ペンギンはとても違う場所に住んでいます。
先生は生徒に質問をして、問題を解いて、知識を共有するように励まします。
農家は秋に小麦、米、トウモロコシ、ジャガイモ、トマトを収穫します。
図書館には新聞、雑誌、小説、辞書、百科事典があります。
音楽家は毎晩ギター、ピアノ、バイオリン、トランペット、ドラムを練習します。
料理人はニンニク、玉ねぎ、胡椒、バター、チーズ、ハーブを組み合わせます。
海にはクジラ、イルカ、サメ、タコ、クラゲ、サンゴ礁があります。
旅行者はスーツケース、パスポート、切符、地図、カメラ、傘を準備します。
お世辞は気持ちがいいですが、誠実な意見のほうが価値があります。
意見は違っても、証拠を見ればどの説明が正確かが分かります。
月曜日、火曜日、水曜日、木曜日、金曜日、土曜日、日曜日。
"""

TEXT = ENGLISH + JAPANESE


def lines():
    """The corpus as one training example per line (no pre-tokenizer, so
    each line is one BPE "word", as Gemma's tokenizer sees whole strings)."""
    return [ln for ln in TEXT.split("\n") if ln]
